/**
 * A Callgrind profile reduced to what the analysis needs: per-function self
 * and inclusive costs for every event, and per-edge call counts and
 * inclusive costs. Costs are bigint: Callgrind costs are unsigned 64-bit.
 */

export interface ProfileFunction {
  /** `object|file|name`; unique within a profile. */
  key: string;
  object: string;
  file: string;
  name: string;
  self: bigint[]; // indexed like Profile.events
  inclusive: bigint[];
  /** Set when the function is part of a recursive cycle (its inclusive cost counts the cycle once). */
  cycle?: number;
  /** Set when the function calls itself directly. */
  selfRecursive?: boolean;
  /**
   * The part of `self` spent in code from other source files (`fi=`/`fe=`:
   * inlined bodies), by file; absent when there is none.
   */
  inlined?: { file: string; self: bigint[] }[];
}

/** A strongly connected component of more than one function, costed as a unit. */
export interface ProfileCycle {
  id: number;
  members: string[]; // ProfileFunction.key, sorted
  /** Self cost of the members plus the calls leaving the cycle. */
  inclusive: bigint[];
}

export interface ProfileCall {
  caller: string; // ProfileFunction.key
  callee: string;
  count: bigint;
  inclusive: bigint[];
}

export interface Profile {
  /** The files read (several for --separate-threads or dump parts). */
  sources: string[];
  creator?: string;
  command?: string;
  events: string[];
  /** From summary:/totals: when present, else the sum of self costs. */
  totals: bigint[];
  functions: ProfileFunction[];
  calls: ProfileCall[];
  cycles?: ProfileCycle[];
  /** Parts read, over all files (`part:` sections; a file without them is one part). */
  parts?: number;
}
