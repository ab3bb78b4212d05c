/**
 * What one file says, before names are resolved across files. Plain data, so it can be
 * produced in a worker thread and sent to the thread that links the files together.
 */
import type { MacroDef } from './sanitize.js';
import type { LockClass, Param } from './model.js';

export interface RawFunction {
  name: string;
  isStatic: boolean;
  isInline: boolean;
  startLine: number;
  endLine: number;
  returnType: string;
  params: Param[];
  acquires: string[];
  releases: string[];
}

export type RawCallKind = 'direct' | 'field' | 'pointer' | 'subscript' | 'call' | 'other';

export interface RawCall {
  fn: number; // index into FileFacts.functions; -1 at file scope
  off: number; // start offset of the call_expression (key for lock regions)
  line: number;
  kind: RawCallKind;
  /** Identifier for direct and pointer calls, field name for field calls. */
  name: string;
  /** The callee expression as written; '' for direct calls (it is `name`). */
  text: string;
  /** The callee is a parameter or local variable of the caller (a function pointer). */
  local?: boolean;
  /** For registration APIs: each argument reduced to an identifier (without & and casts), or null. */
  args?: (string | null)[];
  /** Per argument: it names a parameter or local variable. */
  argLocal?: boolean[];
}

/** A use of a name that is not a parameter or local variable where it is used. */
export interface RawRef {
  fn: number;
  name: string;
  line: number;
  write: boolean;
}

/** A function name stored into a struct member: `.open = f` or `x->open = f`. */
export interface RawStore {
  fn: number;
  field: string;
  value: string;
  line: number;
  structType?: string;
  fromInit: boolean;
}

/** A function name assigned to a local variable: `handler = e1000_intr`. */
export interface RawLocalAssign {
  fn: number;
  variable: string;
  value: string;
  line: number;
}

export interface RawGlobal {
  name: string;
  isStatic: boolean;
  type: string;
  line: number;
  lockClass?: LockClass;
}

export interface RawRegion {
  fn: number;
  primitive: string;
  lockClass: LockClass;
  atomic: boolean;
  lock: string;
  lockText: string;
  /** The key is a bare identifier that is not a local: it may name a global lock. */
  maybeGlobal: boolean;
  acquireLine: number;
  releaseLines: number[];
  callOffs: number[];
}

export interface FileFacts {
  file: string;
  functions: RawFunction[];
  calls: RawCall[];
  refs: RawRef[];
  stores: RawStore[];
  localAssigns: RawLocalAssign[];
  globals: RawGlobal[];
  defines: MacroDef[];
  regions: RawRegion[];
  /** __acquires/__releases on prototypes, applied to the definition by name. */
  protoAnnotations: { name: string; kind: 'acquires' | 'releases' | 'must_hold'; lock: string }[];
  diagnostics: { line: number; message: string }[];
}
