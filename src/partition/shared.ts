/**
 * Data shared by the two halves, and the one lock each shared item gets.
 *
 * - A global is shared when functions on both sides read or write it.
 * - A structure type is shared when it is reached from a global (the type of
 *   one) or guarded by a driver lock (`struct foo.lock`), and functions on both
 *   sides touch it: they use such a global, take a lock inside it, or receive
 *   a pointer to it.
 * Lock objects themselves (DEFINE_SPINLOCK ...) are not data; `check` covers them.
 */
import type { CallGraph } from '../graph/model.js';
import type { GlobalVar } from '../parse/model.js';
import type { IndexedGraph } from './indexed.js';

export interface SharedItem {
  /** `global:<GlobalVar.id>` or `struct:<tag>`. */
  id: string;
  kind: 'global' | 'struct';
  name: string;
  file?: string;
  line?: number;
  type?: string;
  /** The lock both halves take around it (LOCK_LPC / UNLOCK_LPC). */
  lock: string;
  /** Driver locks already guarding it in the source (lock keys). */
  existingLocks: string[];
  kernel: string[];
  user: string[];
}

export interface SharedData {
  items: SharedItem[];
  /** For each user-side function, the shared items it depends on. */
  userDeps: Map<string, string[]>;
}

const STRUCT_TAG = /\bstruct\s+([A-Za-z_]\w*)/;
const STRUCT_PTR = /\bstruct\s+([A-Za-z_]\w*)\s*\*/;

const lockName = (s: string): string => `lpc_${s.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '')}_lock`;

export function findShared(graph: CallGraph, g: IndexedGraph, kernel: Uint8Array): SharedData {
  const globalsById = new Map<string, GlobalVar>();
  for (const gv of graph.getAttribute('globals') ?? []) globalsById.set(gv.id, gv);
  const lockGlobals = new Set([...globalsById.values()].filter((gv) => gv.lockClass !== undefined).map((gv) => gv.id));
  const globalLockKeys = new Set([...globalsById.values()].filter((gv) => gv.lockClass !== undefined).flatMap((gv) => [gv.id, gv.name]));

  // Structure types reached from globals or guarded by a lock, and the lock keys inside each.
  const structLocks = new Map<string, Set<string>>();
  const noteStruct = (tag: string): Set<string> => {
    let s = structLocks.get(tag);
    if (!s) structLocks.set(tag, (s = new Set()));
    return s;
  };
  for (const gv of globalsById.values()) {
    const m = STRUCT_TAG.exec(gv.type);
    if (m && gv.lockClass === undefined) noteStruct(m[1]);
  }
  const attrs = g.nodeAttrs;
  for (const a of attrs) {
    for (const r of a.holds) {
      const m = /^struct\s+([A-Za-z_]\w*)\./.exec(r.lock);
      if (m) noteStruct(m[1]).add(r.lock);
    }
  }

  const touch = new Map<string, { kernel: Set<string>; user: Set<string> }>();
  const record = (item: string, i: number): void => {
    let t = touch.get(item);
    if (!t) touch.set(item, (t = { kernel: new Set(), user: new Set() }));
    (kernel[i] ? t.kernel : t.user).add(g.ids[i]);
  };
  for (let i = 0; i < g.n; i++) {
    const a = attrs[i];
    for (const gid of new Set([...a.reads, ...a.writes])) {
      if (lockGlobals.has(gid) || globalLockKeys.has(gid)) continue;
      record(`global:${gid}`, i);
      const gv = globalsById.get(gid);
      const m = gv ? STRUCT_TAG.exec(gv.type) : null;
      if (m) record(`struct:${m[1]}`, i);
    }
    for (const r of a.holds) {
      const m = /^struct\s+([A-Za-z_]\w*)\./.exec(r.lock);
      if (m) record(`struct:${m[1]}`, i);
    }
    for (const p of a.fn.params) {
      const m = STRUCT_PTR.exec(p.type);
      if (m && structLocks.has(m[1])) record(`struct:${m[1]}`, i);
    }
  }

  const items: SharedItem[] = [];
  for (const [id, t] of touch) {
    if (t.kernel.size === 0 || t.user.size === 0) continue;
    const kind = id.startsWith('global:') ? 'global' : 'struct';
    const key = id.slice(id.indexOf(':') + 1);
    if (kind === 'struct' && !structLocks.has(key)) continue;
    const gv = kind === 'global' ? globalsById.get(key) : undefined;
    items.push({
      id,
      kind,
      name: kind === 'global' ? (gv?.name ?? key.slice(key.lastIndexOf(':') + 1)) : `struct ${key}`,
      file: gv?.file,
      line: gv?.line,
      type: gv?.type,
      lock: lockName(kind === 'global' ? key : `struct_${key}`),
      existingLocks: kind === 'struct' ? [...structLocks.get(key)!].sort() : [],
      kernel: [...t.kernel].sort(),
      user: [...t.user].sort(),
    });
  }
  items.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const userDeps = new Map<string, string[]>();
  for (const it of items) {
    for (const f of it.user) {
      const l = userDeps.get(f);
      if (l) l.push(it.id);
      else userDeps.set(f, [it.id]);
    }
  }
  return { items, userDeps };
}
