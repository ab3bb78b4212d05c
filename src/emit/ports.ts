/**
 * Port I/O from the user half. A port base the moved code reads from a driver
 * structure (`priv->port + REG`) crosses as a cookie of a port region, like
 * an `__iomem` pointer (iomem.ts): the kernel half maps the region the driver
 * requested with ioport_map() and lends it through the same region table for
 * the length of the call, so inb()/outw() ... in the user half are the
 * checked ioread8/iowrite16 ... EXEC_LPC accessors on that cookie. The
 * region's length is the driver's own request_region() length, or an
 * annotation when the sources do not say.
 */
import type { Annotation } from '../partition/config.js';
import type { MacroDef } from '../parse/sanitize.js';
import { expandMacros, splitArgs, type Where } from './iomem.js';
import type { TypeWorld } from './marshal.js';
import type { SourceIndex } from './source.js';

export interface PortAccessor {
  size: number;
  write: boolean;
  /** insb/outsw ...: a buffer of count elements through one port. */
  string: boolean;
}

/** Port accessors: each reaches the MMIO accessor of its size and direction on the port region's mapping. */
export const PORT_ACCESSORS: ReadonlyMap<string, PortAccessor> = new Map(
  (
    [
      ['inb', 1, false, false], ['inw', 2, false, false], ['inl', 4, false, false],
      ['outb', 1, true, false], ['outw', 2, true, false], ['outl', 4, true, false],
      ['inb_p', 1, false, false], ['inw_p', 2, false, false], ['inl_p', 4, false, false],
      ['outb_p', 1, true, false], ['outw_p', 2, true, false], ['outl_p', 4, true, false],
      ['insb', 1, false, true], ['insw', 2, false, true], ['insl', 4, false, true],
      ['outsb', 1, true, true], ['outsw', 2, true, true], ['outsl', 4, true, true],
    ] as const
  ).map(([n, size, write, string]) => [n, { size, write, string }]),
);

/** Port mappings in moved code: a cookie already is the mapping. */
export const PORT_MAPPERS: ReadonlySet<string> = new Set(['ioport_map', 'ioport_unmap']);

/** The EXEC_LPC accessor a port accessor becomes (lpc_io_<name>). */
export function portExport(a: PortAccessor): string {
  return `io${a.write ? 'write' : 'read'}${a.size * 8}`;
}

/** Which argument of a port accessor (or ioport_map) is the port. */
function portArg(name: string): number {
  const a = PORT_ACCESSORS.get(name);
  return a && a.write && !a.string ? 1 : 0;
}

/** The port arguments of every port accessor call in `text` (after the driver's macros). */
function portArgs(text: string, defines: MacroDef[]): string[] {
  const names = [...PORT_ACCESSORS.keys(), 'ioport_map'];
  const re = new RegExp(`\\b(${names.join('|')})\\s*\\(`, 'g');
  const body = expandMacros(text, defines);
  const out: string[] = [];
  for (const m of body.matchAll(re)) {
    const arg = splitArgs(body, m.index + m[0].length)?.list[portArg(m[1])];
    if (arg !== undefined) out.push(arg);
  }
  return out;
}

/** A port accessor call in `body` on a port fixed at compile time: the port's text. */
export function fixedPort(body: string, defines: MacroDef[], world: TypeWorld): string | undefined {
  return portArgs(body, defines).find((a) => world.evalDim(a) !== undefined);
}

/**
 * A parameter among `params` that a port accessor in `body` takes its port
 * from, with no field of a driver structure in that port: a number the
 * kernel would pass, which user space cannot use as a port.
 */
export function portFromParam(body: string, defines: MacroDef[], params: string[]): string | undefined {
  for (const a of portArgs(body, defines)) {
    if (/->|\./.test(a)) continue;
    const p = params.find((x) => new RegExp(`\\b${x}\\b`).test(a));
    if (p) return p;
  }
  return undefined;
}

const REQUESTERS: Record<string, number> = { request_region: 0, request_muxed_region: 0, devm_request_region: 1 };

/** Each file's port arguments: asked again for every field a view reads. */
const filePorts = new WeakMap<SourceIndex, string[]>();

/** Is `field` of some driver structure used as a port: in a port accessor's port, or requested as one? */
export function isPortField(field: string, indexes: SourceIndex[], defines: MacroDef[]): boolean {
  const re = new RegExp(`(?:->|\\.)\\s*${field}\\b`);
  const req = new RegExp(`\\b(${Object.keys(REQUESTERS).join('|')})\\s*\\(`, 'g');
  return indexes.some((idx) => {
    let ports = filePorts.get(idx);
    if (!ports) {
      ports = portArgs(idx.text, defines);
      filePorts.set(idx, ports);
    }
    if (ports.some((a) => re.test(a))) return true;
    for (const m of idx.text.matchAll(req)) {
      const arg = splitArgs(idx.text, m.index + m[0].length)?.list[REQUESTERS[m[1]]];
      if (arg !== undefined && re.test(arg)) return true;
    }
    return false;
  });
}

const lineAt = (idx: SourceIndex, at: number): Where => ({ file: idx.file, line: idx.text.slice(0, at).split('\n').length });
const squash = (s: string): string => s.replace(/\s+/g, '');

/**
 * How many ports the region whose base `struct tag`'s `field` holds spans:
 * the annotation `"tag.field": {"ports": N}`, else the smallest constant
 * length the driver requests it with (request_region(priv->port, LEN, ...),
 * or request_region(BASE, LEN, ...) with `priv->port = BASE`), or why not.
 */
export function portRegionLength(tag: string, field: string, indexes: SourceIndex[], world: TypeWorld, annotations: Record<string, Annotation>): { length: number } | { why: string; at?: Where } {
  const ann = annotations[`${tag}.${field}`]?.ports;
  if (ann !== undefined) return { length: ann };
  const own = new RegExp(`(?:->|\\.)\\s*${field}$`);
  // What the field is set from: a request of that expression is a request of the field's region.
  const sources: { rhs: string; at: Where }[] = [];
  for (const idx of indexes) {
    for (const m of idx.text.matchAll(new RegExp(`(?:->|\\.)\\s*${field}\\s*=(?!=)\\s*([^;]+);`, 'g'))) sources.push({ rhs: m[1].trim(), at: lineAt(idx, m.index) });
  }
  const rhs = new Set(sources.map((s) => squash(s.rhs)));
  let best: number | undefined;
  const req = new RegExp(`\\b(${Object.keys(REQUESTERS).join('|')})\\s*\\(`, 'g');
  for (const idx of indexes) {
    for (const m of idx.text.matchAll(req)) {
      const args = splitArgs(idx.text, m.index + m[0].length)?.list;
      const base = args?.[REQUESTERS[m[1]]];
      if (base === undefined || !(own.test(base.trim()) || rhs.has(squash(base)))) continue;
      const lenText = args![REQUESTERS[m[1]] + 1] ?? '?';
      const len = world.evalDim(lenText);
      if (len === undefined) return { why: `${field} is requested by ${m[1]}() with a length that is not a constant (${lenText})`, at: lineAt(idx, m.index) };
      best = best === undefined ? len : Math.min(best, len);
    }
  }
  if (best !== undefined) return { length: best };
  const pci = sources.find((s) => /^pci_resource_start\s*\(/.test(s.rhs));
  if (pci) return { why: `${field} is set from pci_resource_start(), so the length of its region (pci_resource_len()) is only known at run time`, at: pci.at };
  return { why: `no request_region() in the driver gives the number of ports at ${field}` };
}

/** Declarations of the port lending functions (the kernel half's header). */
export const KERNEL_PORT_DECLS = `u64 lpc_ioport_get(struct lpc_iomem *r, unsigned long port, size_t len);
void lpc_ioport_put(struct lpc_iomem *r);
`;

/** The kernel half's port lending, on the __iomem region table (appended to the glue after it). */
export const KERNEL_PORT_GLUE = `
/*
 * A port region lent to the user half: its ioport_map() mapping, in the
 * region table, so the same checked accessors reach it.  Port 0 is a driver's
 * "no ports": nothing is lent and the cookie is 0.
 */
u64 lpc_ioport_get(struct lpc_iomem *r, unsigned long port, size_t len)
{
	return lpc_iomem_get(r, port ? ioport_map(port, len) : NULL, len);
}

void lpc_ioport_put(struct lpc_iomem *r)
{
	lpc_iomem_put(r);
	if (r->base)
		ioport_unmap(r->base);
}`;

/** The port accessors in kcompat.h: each an EXEC_LPC call on a port cookie. */
export function userPortCompat(): string {
  const L: string[] = [
    '/*',
    ' * Port I/O: a port here is a cookie of a port region the kernel half lent',
    ' * (handle << 32 | offset); each access is its checked ioread/iowrite.',
    ' */',
    'void lpc_io_reads(const char *proc, unsigned int size, u64 port, void *buf,',
    '\t\t  unsigned long count);',
    'void lpc_io_writes(const char *proc, unsigned int size, u64 port,',
    '\t\t   const void *buf, unsigned long count);',
  ];
  const cookie = '(const volatile void *)(uintptr_t)(p)';
  for (const [name, a] of PORT_ACCESSORS) {
    const proc = `"lpc_io_${portExport(a)}"`;
    if (a.string) L.push(`#define ${name}(p, buf, n) lpc_io_${a.write ? 'writes' : 'reads'}(${proc}, ${a.size}, (p), (buf), (n))`);
    else if (a.write) L.push(`#define ${name}(v, p) lpc_io_write(${proc}, (u64)(v), ${cookie})`);
    else L.push(`#define ${name}(p) ((u${a.size * 8})lpc_io_read(${proc}, ${cookie}))`);
  }
  L.push('#define ioport_map(p, n) ((void __iomem *)(uintptr_t)(p))', '#define ioport_unmap(p) ((void)(p))');
  return L.join('\n');
}

/** String port I/O in lpc_user.c: one checked access per element, as the instructions do. */
export const USER_PORT_RUNTIME = `
void lpc_io_reads(const char *proc, unsigned int size, u64 port, void *buf,
		  unsigned long count)
{
	const volatile void *p = (const volatile void *)(uintptr_t)port;
	unsigned char *b = buf;
	unsigned long i;
	u64 v;

	for (i = 0; i < count; i++, b += size) {
		v = lpc_io_read(proc, p);
		memcpy(b, &v, size);
	}
}

void lpc_io_writes(const char *proc, unsigned int size, u64 port,
		   const void *buf, unsigned long count)
{
	const volatile void *p = (const volatile void *)(uintptr_t)port;
	const unsigned char *b = buf;
	unsigned long i;
	u64 v;

	for (i = 0; i < count; i++, b += size) {
		v = 0;
		memcpy(&v, b, size);
		lpc_io_write(proc, v, p);
	}
}
`;
