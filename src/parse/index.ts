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
    const workers: Worker[] = [];
    let next = 0;
    let failed = false;
    const stop = () => workers.forEach((w) => void w.terminate());
    const feed = (w: Worker) => {
      if (next < paths.length) w.postMessage(paths[next++]);
    };
    for (let i = 0; i < Math.min(count, paths.length); i++) {
      const w = new Worker(script);
      workers.push(w);
      w.on('message', (m: WorkerReply) => {
        if (failed) return;
        if (m.error !== undefined) {
          failed = true;
          stop();
          reject(m.error.input ? new InputError(m.error.message, m.error.file, m.error.line) : new Error(`${m.file}: ${m.error.message}`));
          return;
        }
        results.set(m.file, m.facts as FileFacts);
        opts.onProgress?.(results.size, paths.length);
        if (results.size === paths.length) {
          stop();
          resolve(paths.map((p) => results.get(p) as FileFacts));
        } else feed(w);
      });
      w.on('error', (e) => {
        if (failed) return;
        failed = true;
        stop();
        reject(e);
      });
      feed(w);
    }
  });
}
