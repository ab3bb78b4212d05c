/** Worker thread: extracts the facts of each file the parent sends, one message per file. */
import { parentPort } from 'node:worker_threads';
import { InputError } from '../errors.js';
import { extractFile } from './extract.js';
import { readSource } from './source.js';

export interface WorkerReply {
  file: string;
  facts?: import('./facts.js').FileFacts;
  error?: { message: string; file?: string; line?: number; input: boolean };
}

const port = parentPort;
if (port === null) throw new Error('worker.js must run as a worker thread');
let done = 0;
port.on('message', async (file: string) => {
  let reply: WorkerReply;
  try {
    reply = { file, facts: extractFile(file, await readSource(file)) };
  } catch (e) {
    const err = e as Error;
    reply = { file, error: { message: err.message, file: (e as InputError).file, line: (e as InputError).line, input: e instanceof InputError } };
  }
  port.postMessage(reply);
  // Trees are freed by finalizers; a periodic collection keeps the worker's memory flat.
  if (++done % 32 === 0) (globalThis as { gc?: () => void }).gc?.();
});
