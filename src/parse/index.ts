/**
 * parseSources: C files in, DriverModel out. Each file is sanitized, parsed with
 * tree-sitter-c and reduced to plain facts (in worker threads for large inputs), then the
 * facts are linked across files.
 */
import { existsSync, statSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { InputError, type Diagnostic } from '../errors.js';
import { extractFile } from './extract.js';
import type { FileFacts } from './facts.js';
import { link } from './link.js';
import { readSource } from './source.js';
import type { DriverModel } from './model.js';
import type { WorkerReply } from './worker.js';

export interface ParseOptions {
  onWarning?: (d: Diagnostic) => void;
  onProgress?: (done: number, total: number) => void;
  /** Worker threads to use; default: up to 2 when there are many files, 0 = parse in this thread. */
  workers?: number;
}

/** Below this many files, starting workers costs more than it saves. */
const WORKER_THRESHOLD = 48;

export async function parseSources(input: string[], opts: ParseOptions = {}): Promise<DriverModel> {
  const paths = [...new Set(input)];
  for (const p of paths) {
    if (!existsSync(p)) throw new InputError('no such file', p);
    if (statSync(p).isDirectory()) throw new InputError('is a directory, expected a C source file', p);
  }
  const workerScript = fileURLToPath(new URL('./worker.js', import.meta.url));
  // Running from TypeScript sources (tests) there is no compiled worker: parse in this thread.
  const canFork = existsSync(workerScript) && import.meta.url.endsWith('.js');
  const wanted = opts.workers ?? (paths.length >= WORKER_THRESHOLD ? Math.min(2, os.availableParallelism()) : 0);
  const facts = canFork && wanted > 0 ? await extractInWorkers(paths, wanted, workerScript, opts) : await extractHere(paths, opts);
  const model = link(paths, facts);
  if (opts.onWarning) for (const d of model.diagnostics) opts.onWarning(d);
  return model;
}

async function extractHere(paths: string[], opts: ParseOptions): Promise<FileFacts[]> {
  const out: FileFacts[] = [];
  for (const p of paths) {
    out.push(extractFile(p, await readSource(p)));
    opts.onProgress?.(out.length, paths.length);
    // Let tree finalizers run: a synchronous loop over thousands of files grows to gigabytes.
    await new Promise((r) => setImmediate(r));
    if (out.length % 32 === 0) (globalThis as { gc?: () => void }).gc?.();
  }
  return out;
}

function extractInWorkers(paths: string[], count: number, script: string, opts: ParseOptions): Promise<FileFacts[]> {
  return new Promise((resolve, reject) => {
    const results = new Map<string, FileFacts>();
    const busy = new Set<Worker>();
    const workers: Worker[] = [];
    let next = 0;
    let failure: Error | undefined;
    // A worker is only terminated between files: terminating one inside tree-sitter's native
    // code aborts the whole process.
    const settle = () => {
      if (busy.size > 0) return;
      workers.forEach((w) => void w.terminate());
      if (failure !== undefined) reject(failure);
      else resolve(paths.map((p) => results.get(p) as FileFacts));
    };
    const feed = (w: Worker) => {
      if (failure === undefined && next < paths.length) {
        busy.add(w);
        w.postMessage(paths[next++]);
      } else settle();
    };
    for (let i = 0; i < Math.min(count, paths.length); i++) {
      const w = new Worker(script);
      workers.push(w);
      w.on('message', (m: WorkerReply) => {
        busy.delete(w);
        if (m.error !== undefined) {
          failure ??= m.error.input ? new InputError(m.error.message, m.error.file, m.error.line) : new Error(`${m.file}: ${m.error.message}`);
        } else if (m.facts !== undefined) {
          results.set(m.file, m.facts);
          opts.onProgress?.(results.size, paths.length);
        }
        feed(w);
      });
      w.on('error', (e) => {
        busy.delete(w);
        failure ??= e;
        settle();
      });
      feed(w);
    }
  });
}
