import { readFile } from 'node:fs/promises';
import { InputError } from '../errors.js';

/** The file's text; unreadable files (permissions, vanished since the check) are the user's to fix. */
export async function readSource(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read: ${(e as Error).message}`, file);
  }
}
