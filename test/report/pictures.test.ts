/**
 * The pictures as a reader sees them: the SVG and the HTML report of real
 * plans, opened in Debian's headless Chromium (driven by playwright-core,
 * never a downloaded browser).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallGraph } from '../../src/graph/model.js';
import { loadAnalysis } from '../../src/input/load.js';
import { applyOverrides, defaultConfig, loadConfig } from '../../src/partition/config.js';
import { partition, type Plan } from '../../src/partition/plan.js';
import { COLORS, MAX_NODES } from '../../src/report/dot.js';
import { renderHtml } from '../../src/report/html.js';
import { isRootReason } from '../../src/report/reasons.js';
import { renderSvg } from '../../src/report/svg.js';
import { kernelSourceFiles } from '../support/kernel-source.js';
import { repoRoot, runCli } from '../support/cli.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const chardev = path.join(repoRoot, 'fixtures/chardev');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sd-pictures-'));
/** Screenshots stay here for a person to look at. */
const shots = path.join(os.tmpdir(), 'split-driver-pictures');

let browser: BrowserContext;
let graph: CallGraph;
/** The sample driver with one diagnostic command forced to user space, as a user would with --user. */
let plan: Plan;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium package (scripts/install-deps.sh does)`);
  fs.mkdirSync(shots, { recursive: true });
  browser = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1500, height: 950 },
  });
  ({ graph } = await loadAnalysis([chardev, path.join(chardev, 'callgrind.out')]));
  // The fixture's own config file, and --user as a person would give it.
  plan = partition(graph, applyOverrides(loadConfig({ inputs: [chardev] }), { user: ['sample_cmd_selftest'] }));
});

afterAll(async () => {
  await browser?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

interface SvgNode {
  id: string;
  cls: string;
  title: string;
  text: string[];
  fill: string | null;
  outlines: number;
  height: number;
}
interface SvgEdge {
  cls: string;
  title: string;
  stroke: string | null;
  dashed: boolean;
  width: number;
}

/** Loads an SVG file into the browser and reads back what it draws. */
async function readSvg(file: string): Promise<{ nodes: SvgNode[]; edges: SvgEdge[]; text: string; page: Page }> {
  const page = await browser.newPage();
  await page.goto(pathToFileURL(file).href);
  const got = await page.evaluate(() => {
    const shapes = (g: Element) => [...g.querySelectorAll('path, polygon')] as SVGGraphicsElement[];
    const nodes = [...document.querySelectorAll('g.node')].map((g) => ({
      id: g.id,
      cls: g.getAttribute('class') ?? '',
      title: g.querySelector('title')?.textContent ?? '',
      text: [...g.querySelectorAll('text')].map((t) => t.textContent ?? ''),
      fill: shapes(g).find((s) => s.getAttribute('fill') !== 'none')?.getAttribute('fill') ?? null,
      outlines: shapes(g).filter((s) => (s.getAttribute('stroke') ?? 'none') !== 'none').length,
      height: Math.max(...shapes(g).map((s) => s.getBBox().height)),
    }));
    const edges = [...document.querySelectorAll('g.edge')].map((g) => {
      const p = g.querySelector('path');
      return {
        cls: g.getAttribute('class') ?? '',
        title: g.querySelector('title')?.textContent ?? '',
        stroke: p?.getAttribute('stroke') ?? null,
        dashed: (p?.getAttribute('stroke-dasharray') ?? '') !== '',
        width: Number(p?.getAttribute('stroke-width') ?? '1'),
      };
    });
    return { nodes, edges, text: document.documentElement.textContent ?? '' };
  });
  return { ...got, page };
}

describe('SVG picture of the sample driver', () => {
  it('draws every function in its side colour, sized by lines, roots marked with their reasons', async () => {
    const file = path.join(tmp, 'graph.svg');
    fs.writeFileSync(file, await renderSvg(graph, plan));
    const { nodes, page } = await readSvg(file);
    await page.screenshot({ path: path.join(shots, 'chardev-svg.png') });
    await page.close();

    expect(plan.functions.length).toBeGreaterThan(20);
    expect(plan.functions.some((f) => f.side === 'user')).toBe(true);
    expect(COLORS.kernel.fill).not.toBe(COLORS.user.fill);
    const byTitle = new Map(nodes.map((n) => [n.title, n]));
    for (const f of plan.functions) {
      const n = byTitle.get(f.id);
      expect(n, f.id).toBeDefined();
      expect(n!.text.join(' ')).toContain(f.name);
      expect(n!.text).toContain(`${f.lines} lines`);
      expect(n!.fill, f.id).toBe(f.side === 'kernel' ? COLORS.kernel.fill : COLORS.user.fill);
      const root = f.reasons.some(isRootReason);
      // A root has a double border and its reasons under its name.
      expect(n!.outlines, f.id).toBe(root ? 2 : 1);
      const label = n!.text.join('\n');
      if (f.reasons.some((r) => r.kind === 'atomic')) expect(label).toContain('atomic');
      if (f.reasons.some((r) => r.kind === 'user-memory')) expect(label).toContain('user memory');
      if (f.reasons.some((r) => r.kind === 'data-path')) expect(label).toContain('data path');
      if (!root) expect(label).not.toContain('◆');
    }
    // Box size follows lines: among plain (two-line label) boxes, the longest function's is the tallest.
    const plain = plan.functions.filter((f) => !f.reasons.some(isRootReason));
    const longest = plain.reduce((a, b) => (b.lines > a.lines ? b : a));
    const shortest = plain.reduce((a, b) => (b.lines < a.lines ? b : a));
    expect(longest.lines).toBeGreaterThan(shortest.lines);
    expect(byTitle.get(longest.id)!.height).toBeGreaterThan(byTitle.get(shortest.id)!.height);
  });

  it('marks exactly the cut edges red and dashed, widens edges by call count, links shared data', async () => {
    const file = path.join(tmp, 'graph2.svg');
    fs.writeFileSync(file, await renderSvg(graph, plan));
    const { nodes, edges, page } = await readSvg(file);
    await page.close();

    expect(plan.cutEdges.length).toBeGreaterThan(0);
    expect(plan.cutEdges.some((c) => c.callee.endsWith('sample_cmd_selftest'))).toBe(true);
    const calls = edges.filter((e) => e.cls.split(' ').includes('call'));
    expect(calls.length).toBe(graph.size);
    const cutTitles = new Set(plan.cutEdges.map((c) => `${c.caller}->${c.callee}`));
    for (const e of calls) {
      const isCut = cutTitles.has(e.title);
      expect(e.stroke === COLORS.cut && e.dashed, e.title).toBe(isCut);
      if (isCut) expect(e.width).toBeGreaterThanOrEqual(2);
    }
    expect(calls.filter((e) => e.stroke === COLORS.cut).length).toBe(plan.cutEdges.length);

    // Width by call count: the most called edge is drawn wider than a once-called one.
    const counted = graph.mapEdges((_k, a, s, t) => ({ title: `${s}->${t}`, calls: a.calls })).filter((e) => e.calls > 0n);
    const most = counted.reduce((a, b) => (b.calls > a.calls ? b : a));
    const once = counted.find((e) => e.calls === 1n && !cutTitles.has(e.title));
    expect(most.calls).toBeGreaterThan(10n);
    expect(once).toBeDefined();
    const width = (title: string) => calls.find((e) => e.title === title)!.width;
    expect(width(most.title)).toBeGreaterThan(width(once!.title));

    // Shared data: one node per item, linked to functions that use it.
    for (const s of plan.shared) {
      const n = nodes.find((x) => x.title === `data ${s.id}`);
      expect(n, s.id).toBeDefined();
      expect(n!.text.join(' ')).toContain(s.name);
      expect(n!.text.join(' ')).toContain(s.lock);
      const links = edges.filter((e) => e.cls === 'edge uses' && e.title.startsWith(`data ${s.id}->`));
      expect(links.length).toBeGreaterThan(0);
      for (const l of links) expect([...s.kernel, ...s.user]).toContain(l.title.slice(`data ${s.id}->`.length));
    }
  });
});

describe('HTML report in headless Chromium', () => {
  let page: Page;
  const requests: string[] = [];
  const errors: string[] = [];
  let pageUrl: string;

  beforeAll(async () => {
    const file = path.join(tmp, 'report.html');
    const html = await renderHtml(graph, plan);
    fs.writeFileSync(file, html);
    // Self-contained: no resource is referenced by URL.
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    pageUrl = pathToFileURL(file).href;
    page = await browser.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await page.goto(pageUrl);
  });

  afterAll(async () => {
    await page?.close();
  });

  const panelText = () => page.locator('#panel').innerText();

  it('finds a user-side function typed in the search box and says why it is there', async () => {
    await page.locator('#search').pressSequentially('sample_cmd_selftest', { delay: 5 });
    const f = plan.functions.find((x) => x.name === 'sample_cmd_selftest')!;
    expect(f.side).toBe('user');
    await expect.poll(panelText).toContain('sample_cmd_selftest');
    const text = await panelText();
    expect(text).toContain('user side');
    expect(text).toContain('forced to the user side by --user');
    // Its caller and the cut edge from the kernel side.
    const cut = plan.cutEdges.find((c) => c.callee === f.id)!;
    const caller = plan.functions.find((x) => x.id === cut.caller)!;
    expect(text).toMatch(new RegExp(`Callers \\(\\d+\\)[\\s\\S]*${caller.name}\\s+kernel\\s+${cut.calls} calls?\\s+cut`));
    expect(text).toMatch(new RegExp(`${caller.name} → sample_cmd_selftest \\(kernel → user`));
    await page.screenshot({ path: path.join(shots, 'report-user.png') });
  });

  it('explains a kernel root: side, reasons with their lock, callees with call counts, the box highlighted in view', async () => {
    const f = plan.functions.find((x) => x.name === 'sample_dispatch')!;
    const atomic = f.reasons.find((r) => r.kind === 'atomic');
    expect(f.side).toBe('kernel');
    expect(atomic).toBeDefined();
    const i = plan.functions.indexOf(f);
    const node = page.locator(`[id="fn-${i}"]`);
    const inView = async () => {
      const b = (await node.boundingBox())!;
      const v = (await page.locator('#graph').boundingBox())!;
      const x = b.x + b.width / 2;
      const y = b.y + b.height / 2;
      return x > v.x && x < v.x + v.width && y > v.y && y < v.y + v.height;
    };
    // Scroll the picture away from the box first, so finding it must bring it back.
    for (const corner of [[0, 0], [1e6, 1e6], [0, 1e6], [1e6, 0]]) {
      await page.locator('#graph').evaluate((g, [x, y]) => g.scrollTo(x, y), corner);
      if (!(await inView())) break;
    }
    expect(await inView()).toBe(false);
    await page.locator('#search').fill('');
    await page.locator('#search').pressSequentially('sample_dispatch', { delay: 5 });
    await page.locator('#search').press('Enter');
    await expect.poll(panelText).toMatch(/^sample_dispatch\n/);
    const text = await panelText();
    expect(text).toContain('kernel side');
    expect(text).toContain('critical root');
    if (atomic?.kind === 'atomic') expect(text).toContain(atomic.lock);
    graph.forEachOutEdge(f.id, (_k, a, _s, callee) => {
      const name = plan.functions.find((x) => x.id === callee)!.name;
      const n = Number(a.calls);
      expect(text).toMatch(new RegExp(`${name}\\s+(kernel|user)\\s+${n > 0 ? `${n.toLocaleString('en-US')} calls?` : 'never called'}`));
    });

    await expect.poll(() => node.getAttribute('class')).toContain('selected');
    // The picture scrolled so the reader sees the box.
    expect(await inView()).toBe(true);
    await page.screenshot({ path: path.join(shots, 'report-kernel.png') });
  });

  it('lists every function in the table; a click on a row or a box explains it', async () => {
    await expect(page.locator('#functions tbody tr').count()).resolves.toBe(plan.functions.length);
    const user = plan.functions.find((x) => x.side === 'user' && x.name !== 'sample_cmd_selftest')!;
    await page.locator('#functions tbody tr', { hasText: user.name }).first().click();
    await expect.poll(panelText).toMatch(new RegExp(`^${user.name}\\n`));
    expect(await panelText()).toContain('user side');

    const kernel = plan.functions.find((x) => x.side === 'kernel' && !x.reasons.some(isRootReason))!;
    await page.locator(`[id="fn-${plan.functions.indexOf(kernel)}"]`).click();
    await expect.poll(panelText).toMatch(new RegExp(`^${kernel.name}\\n`));
    expect(await panelText()).toContain('kernel side');
    const reach = kernel.reasons.find((r) => r.kind === 'reachable-from');
    if (reach?.kind === 'reachable-from') expect(await panelText()).toMatch(new RegExp(`reachable from the critical root ${plan.functions.find((x) => x.id === reach.root)!.name}\\b`));
    else expect(await panelText()).toContain('minimum cut');
  });

  it('names the ops field through which the kernel enters a function', async () => {
    const write = plan.functions.find((x) => x.name === 'sample_write')!;
    const ops = graph.getNodeAttribute(write.id, 'entry').filter((e) => e.structType !== undefined);
    expect(ops.length).toBeGreaterThan(0);
    await page.locator('#search').fill('sample_write');
    await page.locator('#search').press('Enter');
    await expect.poll(panelText).toMatch(/^sample_write\n/);
    for (const e of ops) expect(await panelText()).toContain(`${e.structType}.${e.field}`);
  });

  it('says when nothing matches, loaded nothing from the network and raised no error', async () => {
    await page.locator('#search').fill('no_such_function_here');
    await expect.poll(() => page.locator('#search-status').innerText()).toBe('no function matches');
    expect(errors).toEqual([]);
    expect(requests.filter((u) => u !== pageUrl)).toEqual([]);
  });
});

describe('big graphs', () => {
  it('draws all of e1000 (about 250 functions) in seconds', async () => {
    const root = await kernelSourceFiles(['drivers/net/ethernet/intel/e1000']);
    const { graph: g } = await loadAnalysis([path.join(root, 'drivers/net/ethernet/intel/e1000')]);
    const p = partition(g, defaultConfig());
    expect(p.functions.length).toBeGreaterThan(200);
    const t = Date.now();
    const svg = await renderSvg(g, p);
    const ms = Date.now() - t;
    expect(ms).toBeLessThan(10_000);
    const drawn = new Set([...svg.matchAll(/<g id="fn&#45;(\d+)" class="node/g)].map((m) => Number(m[1])));
    expect(drawn.size).toBe(p.functions.length);
    expect(svg).not.toContain('Limited picture');
  });

  it('limits a picture of thousands of functions to the cut neighbourhood and says so', async () => {
    // A generated driver: a call tree of 3000 functions; every seventh copies from user space (a root).
    const n = 3000;
    const src: string[] = ['#include <linux/uaccess.h>', ''];
    for (let i = n - 1; i >= 0; i--) {
      const body: string[] = [];
      if (i % 7 === 3) body.push('\tif (copy_from_user(&x, p, sizeof(x)))\n\t\treturn -1;');
      for (let l = 0; l < (i % 5) * 4; l++) body.push(`\tx = x * ${l + 3} + ${i};`);
      for (const k of [2 * i + 1, 2 * i + 2]) if (k < n) body.push(`\tx += fn_${k}(x, p);`);
      src.push(`int fn_${i}(int x, const void __user *p)\n{\n${body.join('\n')}\n\treturn x;\n}\n`);
    }
    const file = path.join(tmp, 'huge.c');
    fs.writeFileSync(file, src.join('\n'));
    const { graph: g } = await loadAnalysis([file]);
    const p = partition(g, defaultConfig());
    expect(p.functions.length).toBe(n);
    expect(p.cutEdges.length).toBeGreaterThan(20);
    const t = Date.now();
    const html = await renderHtml(g, p);
    expect(Date.now() - t).toBeLessThan(20_000);
    const out = path.join(tmp, 'huge.html');
    fs.writeFileSync(out, html);

    const page = await browser.newPage();
    await page.goto(pathToFileURL(out).href);
    const drawn = await page.locator('#graph svg g.node.fn').count();
    expect(drawn).toBeLessThanOrEqual(MAX_NODES);
    expect(drawn).toBeGreaterThan(0);
    // The picture and the page both say it is limited; the table still has every function.
    expect(await page.locator('#graph svg').textContent()).toContain(`Limited picture: ${drawn} of ${n} functions`);
    expect(await page.locator('header').innerText()).toContain('Limited picture');
    await expect(page.locator('#functions tbody tr').count()).resolves.toBe(n);
    // The heaviest cut edge is among those drawn.
    const top = p.cutEdges[0];
    const titles = await page.locator('#graph svg g.edge.cut title').allTextContents();
    expect(titles).toContain(`${top.caller}->${top.callee}`);
    // A function left out of the picture is still explained.
    const drawnIds = new Set(await page.locator('#graph svg g.node.fn title').allTextContents());
    const missing = p.functions.find((f) => !drawnIds.has(f.id))!;
    await page.locator('#search').fill(missing.name);
    await page.locator('#search').press('Enter');
    await expect.poll(() => page.locator('#panel').innerText()).toContain('not drawn in the limited picture');
    await page.screenshot({ path: path.join(shots, 'huge.png') });
    await page.close();
  });
});

describe('split-driver analyze --svg --html', () => {
  it('writes both pictures of the plan it reports', async () => {
    const svg = path.join(tmp, 'cli.svg');
    const html = path.join(tmp, 'cli.html');
    const planFile = path.join(tmp, 'cli-plan.json');
    const r = runCli(['analyze', '--user', 'sample_cmd_selftest', '--plan', planFile, '--svg', svg, '--html', html, chardev, path.join(chardev, 'callgrind.out')]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    // The pictures show the plan the command made (its config file may differ from the defaults).
    const cliPlan = JSON.parse(fs.readFileSync(planFile, 'utf8')) as Plan;
    expect(cliPlan.cutEdges.length).toBeGreaterThan(0);
    const { nodes, edges, page } = await readSvg(svg);
    await page.close();
    expect(nodes.filter((n) => n.cls.includes(' fn ')).length).toBe(cliPlan.functions.length);
    expect(new Set(edges.filter((e) => e.stroke === COLORS.cut).map((e) => e.title))).toEqual(new Set(cliPlan.cutEdges.map((c) => `${c.caller}->${c.callee}`)));
    const p2 = await browser.newPage();
    await p2.goto(pathToFileURL(html).href);
    await p2.locator('#search').fill('sample_cmd_selftest');
    await expect.poll(() => p2.locator('#panel').innerText()).toContain('user side');
    await p2.close();
  });

  it('fails cleanly when the picture cannot be written', () => {
    const r = runCli(['analyze', '--svg', path.join(tmp, 'no-such-dir', 'x.svg'), chardev]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^split-driver: error: .*x\.svg: cannot write/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
