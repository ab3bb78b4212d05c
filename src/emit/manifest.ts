/** DIR/udaemon/manifest.json: what the runtime reads (contract.md). */
import type { ParamPlan, ProcPlan, WireStruct } from './marshal.js';
import type { Split } from './split.js';

export interface ManifestParam {
  name: string;
  type: string;
  offset: number;
  size: number;
  /** The contract's kinds; a buffer copied both ways is buffer-out with copyIn, a handle is a u64 scalar with handle. */
  marshal: 'scalar' | 'struct-in' | 'struct-inout' | 'buffer-in' | 'buffer-out' | 'string';
  copyIn?: boolean;
  /** An opaque handle for a kernel object (the struct tag): the user half only passes it back. */
  handle?: string;
  /** Buffers: the parameter whose value is the element count (not sent separately), and the element size. */
  lengthFrom?: string;
  elementSize?: number;
  /** Buffers and strings: offset of the `<name>_len` field (the `_off` field is at `offset`). */
  lengthOffset?: number;
  /** Buffers and strings copied back: where the result holds their `_off`/`_len` pair. */
  resultOffset?: number;
}

export interface Manifest {
  version: 1;
  driver: string;
  device: string;
  planHash: string;
  library: string;
  procedures: {
    name: string;
    argsSize: number;
    resultSize: number;
    params: ManifestParam[];
    returns: { type: string; offset: number; size: number } | null;
  }[];
  locks: { name: string; size: number }[];
  semaphores: { name: string }[];
  exports: string[];
}

function fieldAt(ws: WireStruct, name: string): { offset: number; size: number } | undefined {
  return ws.fields.find((f) => f.name === name);
}

export function procedureEntry(p: ProcPlan): Manifest['procedures'][number] {
  const params: ManifestParam[] = [];
  for (const q of p.params) {
    if (p.lengthOnly.has(q.name)) continue;
    if (q.marshal === 'view') {
      // The fields of a driver structure the moved code reads; registers are cookies, not addresses.
      const fs = (q.viewFields ?? []).map((v) => fieldAt(p.args, `${q.name}__${v.field}`)!);
      if (fs.length === 0) continue;
      const last = fs[fs.length - 1];
      params.push({ name: q.name, type: q.type, offset: fs[0].offset, size: last.offset + last.size - fs[0].offset, marshal: 'struct-in' });
      continue;
    }
    const direct = fieldAt(p.args, q.name);
    const off = fieldAt(p.args, `${q.name}_off`);
    const len = fieldAt(p.args, `${q.name}_len`);
    const res = fieldAt(p.res, q.marshal === 'struct-inout' ? q.name : `${q.name}_off`);
    const f = direct ?? off!;
    params.push({
      name: q.name,
      type: q.type,
      offset: f.offset,
      size: direct ? direct.size : 8,
      marshal: q.marshal === 'buffer-inout' ? 'buffer-out' : q.marshal === 'handle' ? 'scalar' : q.marshal,
      ...(q.marshal === 'buffer-inout' ? { copyIn: true } : {}),
      ...(q.handleTag !== undefined ? { handle: q.handleTag } : {}),
      ...(q.lengthParam !== undefined ? { lengthFrom: q.lengthParam } : {}),
      ...(q.elemSize !== undefined ? { elementSize: q.elemSize } : {}),
      ...(len ? { lengthOffset: len.offset } : {}),
      ...(res ? { resultOffset: res.offset } : {}),
    });
  }
  const ret = fieldAt(p.res, 'ret');
  return {
    name: p.name,
    argsSize: p.args.size,
    resultSize: p.res.size,
    params,
    returns: ret ? { type: p.ret.type, offset: ret.offset, size: ret.size } : null,
  };
}

export function buildManifest(split: Split, o: { driver: string; planHash: string; library: string }): Manifest {
  return {
    version: 1,
    driver: o.driver,
    device: `/dev/${o.driver}_lpc`,
    planHash: o.planHash,
    library: o.library,
    procedures: [...split.procedures.values()].map(procedureEntry),
    locks: split.shared.map((g) => ({ name: g.lock, size: g.size })),
    semaphores: [],
    exports: [...[...split.exports.values()].map((p) => p.name), ...split.ioAccessors.map((a) => `lpc_io_${a}`)],
  };
}
