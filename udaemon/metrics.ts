/**
 * Call counters and a latency histogram in shared memory: every pool worker
 * adds its batches to it with Atomics, the daemon's main thread reads it and
 * sends snapshots to the supervisor, which adds up the daemons it has run.
 * The histogram holds the calls a worker timed (a sample, see MetricsBatch);
 * the counters hold every call.
 */

/** Buckets per doubling of the latency: about 19% resolution. */
const PER_OCTAVE = 4;
/** Bucket 0 holds < 1 µs; the last holds everything from about 27 s up. */
export const BUCKETS = 100;

const SERVED = 0;
const ERRORS = 1;
const MAX_US = 2;
const INLINE = 3;
const HIST = 4;

export interface MetricsSnapshot {
  served: number;
  errors: number;
  /** Of the served calls, those a native serving loop ran (lpc_serve.c). */
  inline: number;
  maxUs: number;
  histogram: number[];
}

export function bucketOf(us: number): number {
  if (us < 1) return 0;
  return Math.min(BUCKETS - 1, Math.floor(PER_OCTAVE * Math.log2(us)) + 1);
}

/** Upper bound of a bucket, in µs. */
export function bucketLimit(i: number): number {
  return i === 0 ? 1 : Math.pow(2, i / PER_OCTAVE);
}

export class SharedMetrics {
  readonly words: BigInt64Array;

  constructor(readonly sab: SharedArrayBuffer = new SharedArrayBuffer((HIST + BUCKETS) * 8)) {
    this.words = new BigInt64Array(sab);
  }

  /** Adds a worker's batch. */
  add(served: number, errors: number, inline: number, maxUs: number, histogram: Float64Array): void {
    if (served) Atomics.add(this.words, SERVED, BigInt(served));
    if (inline) Atomics.add(this.words, INLINE, BigInt(inline));
    if (errors) Atomics.add(this.words, ERRORS, BigInt(errors));
    for (let i = 0; i < BUCKETS; i++) if (histogram[i]) Atomics.add(this.words, HIST + i, BigInt(histogram[i]));
    const big = BigInt(maxUs);
    for (;;) {
      const m = Atomics.load(this.words, MAX_US);
      if (big <= m || Atomics.compareExchange(this.words, MAX_US, m, big) === m) break;
    }
  }

  snapshot(): MetricsSnapshot {
    const h: number[] = [];
    for (let i = 0; i < BUCKETS; i++) h.push(Number(Atomics.load(this.words, HIST + i)));
    return {
      served: Number(Atomics.load(this.words, SERVED)),
      errors: Number(Atomics.load(this.words, ERRORS)),
      inline: Number(Atomics.load(this.words, INLINE)),
      maxUs: Number(Atomics.load(this.words, MAX_US)),
      histogram: h,
    };
  }
}

/** Calls a batch holds before it goes to the shared counters. */
const FLUSH_EVERY = 64;

/**
 * One worker's calls not yet added to the shared counters: plain numbers,
 * so that a call costs no atomic operation and no allocation. The worker
 * flushes it every FLUSH_EVERY calls and whenever it goes idle or stops; a
 * killed daemon loses at most one batch per worker.
 */
export class MetricsBatch {
  private served = 0;
  private errors = 0;
  private inline = 0;
  private maxUs = 0;
  private pending = 0;
  private readonly histogram = new Float64Array(BUCKETS);

  constructor(private readonly shared: SharedMetrics) {}

  /** One answered call: its latency in µs (negative if it was not timed), and whether it failed. */
  record(latencyUs: number, failed: boolean): void {
    if (latencyUs >= 0) this.sample(latencyUs);
    this.count(1, failed ? 1 : 0, 0);
  }

  /** The latency in µs of one timed call, counted by count() or record(). */
  sample(latencyUs: number): void {
    this.histogram[bucketOf(latencyUs)]++;
    if (latencyUs > this.maxUs) this.maxUs = Math.floor(latencyUs);
  }

  /** Calls answered, how many of them failed and how many ran inline. */
  count(calls: number, failed: number, inline: number): void {
    this.served += calls;
    this.errors += failed;
    this.inline += inline;
    this.pending += calls;
    if (this.pending >= FLUSH_EVERY) this.flush();
  }

  /** A failure that produced no answer (RESPONSE refused, caller gone). */
  recordError(): void {
    this.errors++;
    if (++this.pending >= FLUSH_EVERY) this.flush();
  }

  flush(): void {
    if (this.pending === 0) return;
    this.shared.add(this.served, this.errors, this.inline, this.maxUs, this.histogram);
    this.served = this.errors = this.inline = this.maxUs = this.pending = 0;
    this.histogram.fill(0);
  }
}

export function emptySnapshot(): MetricsSnapshot {
  return { served: 0, errors: 0, inline: 0, maxUs: 0, histogram: new Array(BUCKETS).fill(0) };
}

export function addSnapshots(a: MetricsSnapshot, b: MetricsSnapshot): MetricsSnapshot {
  return {
    served: a.served + b.served,
    errors: a.errors + b.errors,
    inline: a.inline + b.inline,
    maxUs: Math.max(a.maxUs, b.maxUs),
    histogram: a.histogram.map((v, i) => v + (b.histogram[i] ?? 0)),
  };
}

/**
 * The p-th percentile (0 < p <= 100) in µs: the upper bound of the bucket
 * holding it, capped by the largest latency seen. null with no calls.
 */
export function percentile(s: MetricsSnapshot, p: number): number | null {
  const total = s.histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil((p / 100) * total);
  let seen = 0;
  for (let i = 0; i < s.histogram.length; i++) {
    seen += s.histogram[i];
    if (seen >= rank) return Math.min(Math.round(bucketLimit(i)), Math.max(s.maxUs, 1));
  }
  return s.maxUs;
}
