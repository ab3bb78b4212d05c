/**
 * Attributes of the weighted call graph (graphology DirectedGraph).
 * Node key = FunctionDef.id of a function defined in the input sources.
 * Edge key = `${caller}->${callee}`; one edge per caller/callee pair.
 */
import type { DirectedGraph } from 'graphology';
import type { AccessSite, EntryPoint, FunctionDef, GlobalVar, LockRegion } from '../parse/model.js';

export interface NodeAttrs {
  fn: FunctionDef;
  /** The node weight: source lines of the function. */
  lines: number;
  /** Costs by event name; empty objects when no profile was given or it never ran. */
  self: Record<string, bigint>;
  inclusive: Record<string, bigint>;
  /** Times the function was called in the profiled run (sum of incoming counts, including from outside the source). */
  callsIn: bigint;
  entry: EntryPoint[];
  access: AccessSite[];
  /** Lock regions this function holds (it is the holder). */
  holds: LockRegion[];
  /** Globals it reads or writes (GlobalVar.id). */
  reads: string[];
  writes: string[];
  /**
   * Calls to functions the sources do not define (kernel API, accessors):
   * static sites and the dynamic count from the profile. A user-side
   * function's calls to kernel services become crossings.
   */
  external: { name: string; sites: number; calls: bigint }[];
  /** Matched profile keys (object|file|name); several when a function was profiled in several objects. */
  profileKeys: string[];
}

export interface EdgeAttrs {
  /** The edge weight: dynamic call count from the profile; 0 when the profile never saw it. */
  calls: bigint;
  inclusive: Record<string, bigint>;
  /** Call sites in the source (line numbers), empty for dynamic-only edges. */
  sites: { file: string; line: number; kind: string }[];
  staticOnly: boolean; // in the source, never seen in the profile
  dynamicOnly: boolean; // in the profile, no call site in the source (macro, inlined, indirect)
}

export interface GraphAttrs {
  events: string[];
  totals: Record<string, bigint>;
  /** Profile functions with no definition in the sources (library, kernel shim, libc). */
  unmatched: { key: string; name: string; file: string; self: Record<string, bigint>; inclusive: Record<string, bigint> }[];
  /** The driver's globals (DriverModel.globals), for the shared-data report: file, line and type of each. */
  globals?: GlobalVar[];
}

export type CallGraph = DirectedGraph<NodeAttrs, EdgeAttrs, GraphAttrs>;
