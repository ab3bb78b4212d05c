/**
 * The request queue and semaphore under real concurrency: producers and
 * consumers in separate worker threads, sharing one SharedArrayBuffer.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Semaphore, SlotQueue } from '../../udaemon/queue.js';
import { repoRoot } from '../support/cli.js';

// Threads run the compiled module, as the daemon's threads do.
const queueJs = path.join(repoRoot, 'dist/udaemon/queue.js');
if (!existsSync(queueJs)) throw new Error(`${queueJs} is missing: run npm run build first`);

/** Runs body(mod, data) in a worker thread with the compiled queue module; resolves with its result. */
function inThread<T>(body: string, data: unknown): Promise<T> {
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    import(workerData.url).then(async (mod) => {
      const data = workerData.data;
      const result = await (async () => { ${body} })();
      parentPort.postMessage(result);
    });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: { url: pathToFileURL(queueJs).href, data } });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (c) => c !== 0 && reject(new Error(`thread exited with ${c}`)));
  });
}

describe('SlotQueue', () => {
  it('delivers every item exactly once with several producers and consumers', async () => {
    const q = SlotQueue.create(4, 16); // small: the ring wraps and both sides block often
    const producers = 3;
    const consumers = 4;
    const perProducer = 5000;
    const produce = `
      const q = new mod.SlotQueue(data.sab);
      for (let i = 0; i < data.n; i++) {
        q.push((slot) => { const v = new DataView(slot.buffer, slot.byteOffset); v.setInt32(0, data.p); v.setInt32(4, i); v.setInt32(8, data.p * 7 + i); return 12; });
      }
      return 0;`;
    const consume = `
      const q = new mod.SlotQueue(data.sab);
      const got = [];
      for (;;) {
        const item = q.pop((slot) => {
          if (slot.byteLength === 0) return [0];
          const v = new DataView(slot.buffer, slot.byteOffset, slot.byteLength);
          return [slot.byteLength, v.getInt32(0), v.getInt32(4), v.getInt32(8)];
        });
        if (item[0] === 0) return got; // the end marker
        got.push(item);
      }`;
    const cons = Array.from({ length: consumers }, () => inThread<number[][]>(consume, { sab: q.sab }));
    await Promise.all(Array.from({ length: producers }, (_, p) => inThread(produce, { sab: q.sab, p, n: perProducer })));
    for (let c = 0; c < consumers; c++) q.push(() => 0);
    const all = (await Promise.all(cons)).flat();

    expect(all).toHaveLength(producers * perProducer);
    const seen = new Set<string>();
    for (const [len, p, i, check] of all) {
      expect(len).toBe(12);
      expect(check).toBe(p * 7 + i); // the bytes were not torn by a concurrent writer
      seen.add(`${p}:${i}`);
    }
    expect(seen.size).toBe(producers * perProducer);
  }, 60_000);

  it('keeps each producer\'s order for a single consumer', async () => {
    const q = SlotQueue.create(8, 4);
    const producer = inThread(`const q = new mod.SlotQueue(data.sab); for (let i = 0; i < 2000; i++) q.push((s) => { new DataView(s.buffer, s.byteOffset).setInt32(0, i); return 4; }); return 0;`, { sab: q.sab });
    const got: number[] = [];
    while (got.length < 2000) {
      const v = q.pop((s) => new DataView(s.buffer, s.byteOffset).getInt32(0), 5000);
      if (v === undefined) break;
      got.push(v);
    }
    await producer;
    expect(got).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('hands out items in the order they were queued', () => {
    const q = SlotQueue.create(4, 8);
    for (const n of [1, 2, 3]) q.push((s) => (s[0] = n, 1));
    const read = (s: Uint8Array) => s[0];
    expect([q.pop(read), q.pop(read), q.pop(read), q.pop(read, 10)]).toEqual([1, 2, 3, undefined]);
  });

  it('times out a pop on an empty queue and a push on a full one', () => {
    const q = SlotQueue.create(1, 4);
    const t0 = Date.now();
    expect(q.pop((s) => s[0], 50)).toBeUndefined();
    expect(q.push(() => 1, 50)).toBe(true);
    expect(q.push(() => 1, 50)).toBe(false);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
  });

  it('rejects a capacity that is not a power of two and a slot overflow', () => {
    expect(() => SlotQueue.create(3, 8)).toThrow(/power of two/);
    const q = SlotQueue.create(2, 8);
    expect(() => q.push(() => 9)).toThrow(/outside 0..8/);
  });
});

describe('Semaphore', () => {
  it('as a mutex, serialises a non-atomic read-modify-write across threads', async () => {
    const sem = Semaphore.create(1);
    const shared = new SharedArrayBuffer(8);
    const semSab = sem.words.buffer as SharedArrayBuffer;
    const body = `
      const sem = new mod.Semaphore(new Int32Array(data.sem), 0);
      const counter = new Int32Array(data.shared);
      for (let i = 0; i < 3000; i++) {
        sem.wait();
        const v = counter[0];        // plain read and write: only the semaphore protects them
        for (let k = 0; k < 20; k++) Math.sqrt(k);
        counter[0] = v + 1;
        sem.post();
      }
      return 0;`;
    await Promise.all(Array.from({ length: 4 }, () => inThread(body, { sem: semSab, shared })));
    expect(new Int32Array(shared)[0]).toBe(12000);
    expect(sem.value).toBe(1);
  }, 60_000);

  it('wakes a waiting thread on post, and counts', async () => {
    const sem = Semaphore.create(0);
    const semSab = sem.words.buffer as SharedArrayBuffer;
    const waiter = inThread<boolean[]>(`const s = new mod.Semaphore(new Int32Array(data.sem), 0); return [s.wait(5000), s.wait(5000), s.wait(100)];`, { sem: semSab });
    await new Promise((r) => setTimeout(r, 100));
    sem.post(2);
    expect(await waiter).toEqual([true, true, false]);
  });
});
