/**
 * koffi, loaded for a fast start. The package's entry point also loads its
 * installer's helpers, and with them crypto, https, zlib and some seventy
 * other built-in modules, in every thread that imports it: under emulation
 * a second or more per thread, and the daemon has one per worker. Every
 * koffi function the daemon calls is the prebuilt native module's, so that
 * module is loaded directly; the package's entry point is the fallback
 * where no prebuilt module matches the platform's name.
 */
import { createRequire } from 'node:module';
import type * as Koffi from 'koffi';

const require = createRequire(import.meta.url);

function load(): typeof Koffi {
  try {
    return require(`koffi/build/koffi/${process.platform}_${process.arch}/koffi.node`) as typeof Koffi;
  } catch {
    return require('koffi') as typeof Koffi;
  }
}

export default load();
