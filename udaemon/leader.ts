/**
 * The leader: a dedicated thread that blocks in POLL_LPC (a synchronous
 * ioctl, so it blocks only itself, never libuv's pool) and moves each request
 * into the shared queue. POLL times out now and then so a stop request is
 * seen; then it closes the queue, and the pool drains what is left.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Channel } from './ioctl.js';
import { SlotQueue } from './queue.js';
import { Control, encodeRequest } from './shared.js';

export interface LeaderData {
  fd: number;
  maxArgs: number;
  pollTimeoutMs: number;
  queue: SharedArrayBuffer;
  control: SharedArrayBuffer;
  workers: number;
}

const d = workerData as LeaderData;
const queue = new SlotQueue(d.queue);
const control = new Control(d.workers, d.control);
const ch = new Channel(d.fd, d.maxArgs);

parentPort!.postMessage({ type: 'ready' });
control.waitStarted();
while (!control.stopping) {
  const got = ch.poll(d.pollTimeoutMs);
  if (!got) continue;
  const t0 = process.hrtime.bigint();
  const args = ch.args.bytes.subarray(0, got.argsLen);
  // Blocks while every slot is taken: the kernel keeps the rest queued.
  queue.push((slot) => encodeRequest(slot, { ...got, t0 }, args));
}
queue.close();
