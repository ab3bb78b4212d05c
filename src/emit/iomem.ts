/**
 * Register access from the user half. Moved code reaches the device's MMIO
 * registers only through EXEC_LPC accessors the kernel half generates
 * (lpc_io_ioread32 ...). The user half never holds a kernel address: an
 * `void __iomem *` it sees is a cookie, the handle of a region in the upper
 * 32 bits and an offset in the lower 32, so `priv->regs + REG` still works.
 * The kernel half registers a region (base and length from the driver's own
 * source) for the duration of the call that passes it to user space, and
 * checks every access against it. Port I/O (ports.ts) lends port regions
 * through the same table; views of driver structures (view.ts) carry the
 * cookies to the moved code.
 */
import type { MacroDef } from '../parse/sanitize.js';
import { wrapCall } from './cgen.js';
import type { TypeWorld } from './marshal.js';
import type { SourceIndex } from './source.js';

/** MMIO accessors: access size and direction. */
export const MMIO_ACCESSORS: ReadonlyMap<string, { size: number; write: boolean }> = new Map(
  (
    [
      ['ioread8', 1, false], ['ioread16', 2, false], ['ioread32', 4, false],
      ['iowrite8', 1, true], ['iowrite16', 2, true], ['iowrite32', 4, true],
      ['readb', 1, false], ['readw', 2, false], ['readl', 4, false], ['readq', 8, false],
      ['writeb', 1, true], ['writew', 2, true], ['writel', 4, true], ['writeq', 8, true],
      ['readb_relaxed', 1, false], ['readw_relaxed', 2, false], ['readl_relaxed', 4, false], ['readq_relaxed', 8, false],
      ['writeb_relaxed', 1, true], ['writew_relaxed', 2, true], ['writel_relaxed', 4, true], ['writeq_relaxed', 8, true],
    ] as const
  ).map(([n, size, write]) => [n, { size, write }]),
);

/** Expands the driver's own function-like macros in `text` (a few rounds: macros using macros). */
export function expandMacros(text: string, defines: MacroDef[]): string {
  const fns = new Map(defines.filter((d) => d.params !== null).map((d) => [d.name, d] as const));
  if (fns.size === 0) return text;
  const re = new RegExp(`\\b(${[...fns.keys()].join('|')})\\s*\\(`, 'g');
  for (let round = 0; round < 8; round++) {
    let changed = false;
    let out = '';
    let pos = 0;
    re.lastIndex = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index < pos) continue;
      const args = splitArgs(text, m.index + m[0].length);
      if (!args) continue;
      const d = fns.get(m[1])!;
      let body = d.body.replace(/\\\n/g, ' ');
      d.params!.forEach((p, i) => {
        body = body.replace(new RegExp(`(?<!#)\\b${p.replace(/\W/g, '')}\\b`, 'g'), () => args.list[i] ?? '');
      });
      out += text.slice(pos, m.index) + `(${body})`;
      pos = args.end;
      re.lastIndex = args.end;
      changed = true;
    }
    text = out + text.slice(pos);
    if (!changed) break;
  }
  return text;
}

/** Arguments of a call whose '(' ends just before `start`: the top-level comma-separated texts and the index after ')'. */
export function splitArgs(text: string, start: number): { list: string[]; end: number } | undefined {
  let depth = 0;
  let cur = start;
  const list: string[] = [];
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') {
      if (depth === 0) {
        list.push(text.slice(cur, i).trim());
        return { list: list.length === 1 && list[0] === '' ? [] : list, end: i + 1 };
      }
      depth--;
    } else if (c === ',' && depth === 0) {
      list.push(text.slice(cur, i).trim());
      cur = i + 1;
    }
  }
  return undefined;
}

const MAPPERS: Record<string, number> = {
  ioremap: 1, ioremap_nocache: 1, ioremap_wc: 1, ioremap_uc: 1, ioremap_cache: 1,
  devm_ioremap: 2, devm_ioremap_wc: 2, devm_ioremap_uc: 2, devm_ioremap_nocache: 2,
  pci_iomap: 2, pcim_iomap: 2, pci_iomap_wc: 2, pci_iomap_range: 3, pci_iomap_wc_range: 3,
  ioport_map: 1,
};
const RUNTIME_MAPPERS = /^(devm_ioremap_resource|devm_platform_ioremap_resource\w*|devm_of_iomap|of_iomap|pcim_iomap_table|pcim_iomap_regions\w*)$/;
const ALLOCATORS: Record<string, number> = {
  kzalloc: 0, kmalloc: 0, vzalloc: 0, vmalloc: 0, kvzalloc: 0, kvmalloc: 0,
  devm_kzalloc: 1, devm_kmalloc: 1,
};

export interface Where {
  file: string;
  line: number;
}

/**
 * The length of the region an `__iomem` field (or variable) points to: the
 * smallest constant length among every assignment of it in the driver's
 * sources, or why it is not known.
 */
export function regionLength(field: string, indexes: SourceIndex[], world: TypeWorld, depth = 0): { length: number } | { why: string; at?: Where } {
  const sites: { rhs: string; at: Where }[] = [];
  const re = new RegExp(`(?:->|\\.)\\s*${field}\\s*=(?!=)\\s*([^;]+);`, 'g');
  for (const idx of indexes) {
    for (const m of idx.text.matchAll(re)) {
      const line = idx.text.slice(0, m.index).split('\n').length;
      sites.push({ rhs: m[1].trim(), at: { file: idx.file, line } });
    }
  }
  if (sites.length === 0) return { why: `nothing in the driver's sources assigns ${field}` };
  let best: number | undefined;
  for (const s of sites) {
    const rhs = s.rhs.replace(/\(\s*(?:const\s+)?(?:void|u8|u16|u32|char|unsigned char)\s*(?:__force\s*)?(?:__iomem\s*)?(?:__force\s*)?\*\s*\)/g, '').trim();
    const call = /^([A-Za-z_]\w*)\s*\(/.exec(rhs);
    let len: number | undefined;
    if (call && MAPPERS[call[1]] !== undefined) {
      const args = splitArgs(rhs, call[0].length);
      const arg = args?.list[MAPPERS[call[1]]];
      len = arg === undefined ? undefined : world.evalDim(arg);
      if (len === undefined) return { why: `${field} is mapped by ${call[1]}() with a length that is not a constant (${arg ?? '?'})`, at: s.at };
    } else if (call && RUNTIME_MAPPERS.test(call[1])) {
      return { why: `${field} is mapped by ${call[1]}(), whose length is only known at run time`, at: s.at };
    } else if (call && ALLOCATORS[call[1]] !== undefined) {
      // Memory standing in for a BAR (a simulated device).
      const arg = splitArgs(rhs, call[0].length)?.list[ALLOCATORS[call[1]]];
      len = arg === undefined ? undefined : world.evalDim(arg);
      if (len === undefined) return { why: `${field} is allocated by ${call[1]}() with a length that is not a constant (${arg ?? '?'})`, at: s.at };
    } else {
      const src = /^(?:[A-Za-z_]\w*\s*(?:->|\.)\s*)+([A-Za-z_]\w*)$/.exec(rhs);
      if (!src || depth > 4) return { why: `${field} is set from ${rhs}, whose length emit cannot establish`, at: s.at };
      const inner = regionLength(src[1], indexes, world, depth + 1);
      if ('why' in inner) return inner;
      len = inner.length;
    }
    best = best === undefined ? len : Math.min(best, len);
  }
  return { length: best! };
}

/** Is `field` declared as an `__iomem` pointer in the driver's sources? */
export function isIomemField(field: string, indexes: SourceIndex[]): boolean {
  const re = new RegExp(`__iomem\\s*\\*\\s*${field}\\s*[;,\\[]`);
  return indexes.some((idx) => re.test(idx.text));
}

/** The C of the kernel half's region table and accessor exports (appended to the glue). */
export function kernelIoGlue(accessors: string[]): string {
  const L: string[] = [];
  L.push(`/*
 * __iomem regions the user half may reach.  A stub registers each region it
 * passes to user space for the duration of that call; the user half holds
 * (handle << 32 | offset) cookies, and every access is checked against the
 * region: unknown handle ENOENT, outside it or misaligned EINVAL.
 */
static DEFINE_XARRAY_ALLOC1(lpc_iomem_regions);

u64 lpc_iomem_get(struct lpc_iomem *r, void __iomem *base, size_t len)
{
	u32 id;

	r->base = base;
	r->len = len;
	r->id = 0;
	if (!base || !len ||
	    xa_alloc(&lpc_iomem_regions, &id, r, xa_limit_31b, GFP_KERNEL))
		return 0;
	r->id = id;
	return (u64)id << 32;
}

void lpc_iomem_put(struct lpc_iomem *r)
{
	if (r->id)
		xa_erase(&lpc_iomem_regions, r->id);
}

struct lpc_x_args_io {
	u32 handle;
	u32 offset;
	u64 val;
};

struct lpc_x_res_io {
	u64 val;
};

static_assert(sizeof(struct lpc_x_args_io) == 16);

/* The register a cookie names; called with the table locked. */
static int lpc_iomem_at(const struct lpc_x_args_io *a, u32 size,
			void __iomem **p)
{
	struct lpc_iomem *r = xa_load(&lpc_iomem_regions, a->handle);

	if (!r)
		return -ENOENT;
	if (a->offset > r->len || size > r->len - a->offset ||
	    (a->offset & (size - 1)))
		return -EINVAL;
	*p = r->base + a->offset;
	return 0;
}`);
  for (const name of accessors) {
    const acc = MMIO_ACCESSORS.get(name)!;
    L.push('');
    L.push(`/* EXEC_LPC entry: ${name}() on a register of a region the user half was given. */`);
    L.push(wrapCall(0, `static int lpc_exec_io_${name}`, ['struct lpc_dev *dev', 'const void *args', 'size_t len', 'void *result', 'size_t rlen'], ''));
    L.push('{');
    L.push('\tconst struct lpc_x_args_io *a = args;');
    L.push('\tstruct lpc_x_res_io *r = result;');
    L.push('\tvoid __iomem *p;');
    L.push('\tint ret;');
    L.push('');
    L.push('\tif (len < sizeof(*a) || rlen < sizeof(*r))');
    L.push('\t\treturn -EINVAL;');
    L.push('\txa_lock(&lpc_iomem_regions);');
    L.push(`\tret = lpc_iomem_at(a, ${acc.size}, &p);`);
    L.push('\tif (!ret)');
    L.push(acc.write ? `\t\t${name}((u${acc.size * 8})a->val, p);` : `\t\tr->val = ${name}(p);`);
    L.push('\txa_unlock(&lpc_iomem_regions);');
    L.push(acc.write ? '\tr->val = 0;' : '\tif (ret)\n\t\tr->val = 0;');
    L.push('\treturn ret ? ret : sizeof(*r);');
    L.push('}');
  }
  return L.join('\n');
}

/** The accessors in kcompat.h: each an EXEC_LPC call on a cookie. */
export function userIoCompat(): string {
  const L: string[] = [
    '/*',
    ' * Register access: an __iomem pointer here is a cookie from the kernel half',
    ' * (handle << 32 | offset); each access is an EXEC_LPC call it checks.',
    ' */',
    'u64 lpc_io_read(const char *proc, const volatile void *addr);',
    'void lpc_io_write(const char *proc, u64 val, const volatile void *addr);',
  ];
  for (const [name, a] of MMIO_ACCESSORS) {
    L.push(
      a.write
        ? `#define ${name}(v, p) lpc_io_write("lpc_io_${name}", (u64)(v), (p))`
        : `#define ${name}(p) ((u${a.size * 8})lpc_io_read("lpc_io_${name}", (p)))`,
    );
  }
  return L.join('\n');
}

/** The two functions behind the accessors, in lpc_user.c. */
export const USER_IO_RUNTIME = `
struct lpc_io_args {
	__u32 handle;
	__u32 offset;
	__u64 val;
};

/* A failed read returns all ones, as a device that went away would. */
u64 lpc_io_read(const char *proc, const volatile void *addr)
{
	struct lpc_io_args a = {
		.handle = (__u32)((uintptr_t)addr >> 32),
		.offset = (__u32)(uintptr_t)addr,
	};
	__u64 v = 0;
	int ret = lpc_exec(proc, &a, sizeof(a), &v, sizeof(v));

	if (ret < (int)sizeof(v)) {
		lpc_exec_failed(proc, ret < 0 ? ret : -EPROTO);
		return ~0ULL;
	}
	return v;
}

void lpc_io_write(const char *proc, u64 val, const volatile void *addr)
{
	struct lpc_io_args a = {
		.handle = (__u32)((uintptr_t)addr >> 32),
		.offset = (__u32)(uintptr_t)addr,
		.val = val,
	};
	__u64 v;
	int ret = lpc_exec(proc, &a, sizeof(a), &v, sizeof(v));

	if (ret < 0)
		lpc_exec_failed(proc, ret);
}
`;
