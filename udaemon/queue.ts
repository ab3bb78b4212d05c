/**
 * The daemon's request queue: a bounded ring of fixed-size request slots in a
 * SharedArrayBuffer, shared by the leader (producer) and the pool workers
 * (consumers), with counting semaphores built on Atomics.wait/notify. Any
 * number of producers and consumers may use it at once.
 */

/** A counting semaphore in one Int32 of shared memory. */
export class Semaphore {
  constructor(
    readonly words: Int32Array,
    readonly index: number,
  ) {}

  static create(initial = 0): Semaphore {
    const s = new Semaphore(new Int32Array(new SharedArrayBuffer(4)), 0);
    Atomics.store(s.words, 0, initial);
    return s;
  }

  get value(): number {
    return Atomics.load(this.words, this.index);
  }

  /** The semaphore's word alone, for native code to read. */
  get word(): Int32Array {
    return this.words.subarray(this.index, this.index + 1);
  }

  post(n = 1): void {
    Atomics.add(this.words, this.index, n);
    Atomics.notify(this.words, this.index, n);
  }

  /** Takes one unit: true, or false on timeout. */
  wait(timeoutMs = Infinity): boolean {
    const deadline = timeoutMs === Infinity ? Infinity : Date.now() + timeoutMs;
    for (;;) {
      const w = Atomics.load(this.words, this.index);
      if (w > 0) {
        if (Atomics.compareExchange(this.words, this.index, w, w - 1) === w) return true;
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) return false;
      // Sleeps only while the word still reads w: a post changes it.
      Atomics.wait(this.words, this.index, w, left === Infinity ? undefined : left);
    }
  }
}

// Header words of the ring.
const HEAD = 0; // next position to take
const TAIL = 1; // next position to fill
const ITEMS = 2; // semaphore: filled slots
const SPACES = 3; // semaphore: free slots
const HEADER_WORDS = 4;
const SLOT_HEADER = 8; // per slot: sequence word, length word

/**
 * Bounded MPMC ring (Vyukov's sequence-numbered cells). A slot's sequence
 * says whose turn it is: pos (free for the producer of pos), pos+1 (filled,
 * for the consumer of pos), pos+capacity (free again, next lap). The
 * semaphores make waiting block instead of spin; the sequence covers the gap
 * between a position being claimed and its bytes being written or read.
 */
export class SlotQueue {
  readonly words: Int32Array;
  readonly items: Semaphore;
  readonly spaces: Semaphore;
  readonly slotSize: number;
  readonly capacity: number;
  private readonly stride: number;
  private readonly base: number;

  constructor(readonly sab: SharedArrayBuffer) {
    this.words = new Int32Array(sab);
    this.capacity = this.words[HEADER_WORDS];
    this.slotSize = this.words[HEADER_WORDS + 1];
    this.items = new Semaphore(this.words, ITEMS);
    this.spaces = new Semaphore(this.words, SPACES);
    this.stride = SLOT_HEADER + align8(this.slotSize);
    this.base = (HEADER_WORDS + 2) * 4 + 8; // after the header, 8-aligned
  }

  /** capacity must be a power of two, so positions may wrap at 2^32. */
  static create(capacity: number, slotSize: number): SlotQueue {
    if (capacity < 1 || (capacity & (capacity - 1)) !== 0) throw new Error(`queue capacity ${capacity} is not a power of two`);
    const stride = SLOT_HEADER + align8(slotSize);
    const sab = new SharedArrayBuffer((HEADER_WORDS + 2) * 4 + 8 + capacity * stride);
    const w = new Int32Array(sab);
    w[HEADER_WORDS] = capacity;
    w[HEADER_WORDS + 1] = slotSize;
    w[SPACES] = capacity;
    const q = new SlotQueue(sab);
    for (let i = 0; i < capacity; i++) w[q.seqIndex(i)] = i;
    return q;
  }

  private seqIndex(pos: number): number {
    return (this.base + (pos & (this.capacity - 1)) * this.stride) >> 2;
  }

  private bytes(pos: number): Uint8Array {
    const off = this.base + (pos & (this.capacity - 1)) * this.stride + SLOT_HEADER;
    return new Uint8Array(this.sab, off, this.slotSize);
  }

  /** Waits until the slot's sequence reads want. */
  private await(seq: number, want: number): void {
    for (;;) {
      const v = Atomics.load(this.words, seq);
      if (v === want) return;
      Atomics.wait(this.words, seq, v, 50);
    }
  }

  /**
   * Fills one slot: fill() writes up to slotSize bytes and returns how many.
   * Waits for room; false on timeout.
   */
  push(fill: (slot: Uint8Array) => number, timeoutMs = Infinity): boolean {
    if (!this.spaces.wait(timeoutMs)) return false;
    const pos = Atomics.add(this.words, TAIL, 1);
    const seq = this.seqIndex(pos);
    this.await(seq, pos);
    const n = fill(this.bytes(pos));
    if (n < 0 || n > this.slotSize) throw new Error(`slot length ${n} outside 0..${this.slotSize}`);
    this.words[seq + 1] = n;
    Atomics.store(this.words, seq, (pos + 1) | 0);
    Atomics.notify(this.words, seq);
    this.items.post();
    return true;
  }

  /**
   * Takes one slot: read() gets its bytes (valid only during the call).
   * Waits for an item; undefined on timeout.
   */
  pop<T>(read: (slot: Uint8Array) => T, timeoutMs = Infinity): T | undefined {
    if (!this.items.wait(timeoutMs)) return undefined;
    const pos = Atomics.add(this.words, HEAD, 1);
    const seq = this.seqIndex(pos);
    this.await(seq, (pos + 1) | 0);
    const n = this.words[seq + 1];
    let out: T;
    try {
      out = read(this.bytes(pos).subarray(0, n));
    } finally {
      Atomics.store(this.words, seq, (pos + this.capacity) | 0);
      Atomics.notify(this.words, seq);
      this.spaces.post();
    }
    return out;
  }

  get length(): number {
    return this.items.value;
  }
}

function align8(n: number): number {
  return (n + 7) & ~7;
}
