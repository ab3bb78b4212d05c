/**
 * The driver model: what the C source says, before any profile is attached.
 * Produced by parseSources() in src/parse/index.ts. Every fact carries its
 * file and line so that reports and diagnostics can point at it.
 */

export interface Param {
  name: string; // '' when the declaration has none
  type: string; // as written, normalised spaces: 'const char __user *'
}

export interface FunctionDef {
  /** Unique key: name for non-static functions, `file:name` for static ones. */
  id: string;
  name: string;
  file: string;
  startLine: number; // 1-based
  endLine: number;
  lines: number; // endLine - startLine + 1
  returnType: string;
  params: Param[];
  isStatic: boolean;
  isInline: boolean;
  /** From __acquires/__releases/__must_hold annotations and from the lock walk. */
  acquires: string[]; // lock keys still held at exit
  releases: string[]; // lock keys released without being taken
}

export type CallKind =
  | 'direct' // f(x)
  | 'field' // x->op(...) / x.op(...) resolved field-based
  | 'local' // fp(...) where fp is a local variable whose assignment is visible
  | 'macro'; // call found through a #define body

export interface CallSite {
  caller: string; // FunctionDef.id
  callee: string; // FunctionDef.id when defined in the input, else the bare name (external)
  line: number;
  file: string;
  kind: CallKind;
  /** For field calls: the field name through which the call goes. */
  via?: string;
}

export interface UnresolvedCall {
  caller: string;
  file: string;
  line: number;
  text: string; // the callee expression as written
  reason: string;
}

export type EntryKind =
  | 'ops' // stored in a struct initializer or assigned to a field
  | 'module_init'
  | 'module_exit'
  | 'irq'
  | 'threaded_irq'
  | 'timer'
  | 'work'
  | 'tasklet'
  | 'napi'
  | 'urb_complete' // usb_fill_*_urb completion handler: runs in interrupt context
  | 'address_taken';

export interface EntryPoint {
  function: string; // FunctionDef.id
  kind: EntryKind;
  /** For ops: struct type ('file_operations') and field ('write'). For registrations: the API ('request_irq'). */
  structType?: string;
  field?: string;
  api?: string;
  file: string;
  line: number;
}

export type LockClass = 'spin' | 'raw_spin' | 'rwlock' | 'mutex' | 'semaphore' | 'rwsem' | 'rcu' | 'irq' | 'bh' | 'preempt' | 'other';

export interface LockRegion {
  function: string; // FunctionDef.id of the holder
  file: string;
  primitive: string; // 'spin_lock_irqsave'
  lockClass: LockClass;
  /** Atomic: spinlocks, rwlocks, irq/bh/preempt off. Sleeping: mutex, semaphore, rwsem. */
  atomic: boolean;
  lock: string; // normalised key: 'struct rtl8139_private.lock' or a file-scope name, or the text
  lockText: string; // as written: 'tp->lock'
  acquireLine: number;
  releaseLines: number[]; // empty when released in another function
  /** Calls made while it is held: callee ids/names with their lines. */
  calls: { callee: string; line: number }[];
}

export interface GlobalVar {
  id: string; // name, or file:name when static
  name: string;
  file: string;
  line: number;
  type: string;
  isStatic: boolean;
  /** Lock primitives declared at file scope: DEFINE_SPINLOCK, DEFINE_MUTEX, DEFINE_SEMAPHORE ... */
  lockClass?: LockClass;
  readers: string[]; // FunctionDef.ids
  writers: string[];
}

export type AccessKind = 'pio' | 'mmio' | 'dma' | 'user_memory' | 'pci_config' | 'irq_api';

export interface AccessSite {
  function: string; // FunctionDef.id
  kind: AccessKind;
  api: string; // 'iowrite8', 'copy_from_user', ...
  file: string;
  line: number;
  /** Through a macro or inline helper: the chain, e.g. ['RTL_W8']. */
  via?: string[];
}

export interface DriverModel {
  files: string[];
  functions: FunctionDef[];
  calls: CallSite[];
  unresolved: UnresolvedCall[];
  entryPoints: EntryPoint[];
  locks: LockRegion[];
  globals: GlobalVar[];
  access: AccessSite[];
  /** What the parser could not make sense of: ERROR regions, lost functions, skipped constructs. */
  diagnostics: { file: string; line: number; message: string }[];
}
