/**
 * An emitted split driver in a real kernel (one QEMU boot): the chardev
 * sample with its configuration, self-test and benchmark code moved to user
 * space. The module loads before any daemon and shows no device; the daemon
 * (split-driver udaemon, serving the emitted library) attaches and the
 * driver's initialisation runs; writes on /dev/sampledrv then reach moved
 * procedures (numbers, strings, structs in and out, buffers, a nested EXEC
 * back into the kernel, a module parameter shared under an LPC lock) and
 * return the right results; once the daemon is gone they fail in bounded time.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, repoRoot } from '../support/cli.js';
import { buildKmod, buildUdaemon, CHARDEV_USER, diagnostics } from '../emit/support.js';
import { runInGuest, type GuestResult } from './harness.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'split-driver-emit-qemu-'));

/** Writes a command and prints the status and what a read returns, between markers. */
const SCRIPT = (cli: string) => `
dev=/dev/sampledrv
step() {
	printf '%s' "$2" > $dev 2>/dev/null
	st=$?
	echo "BEGIN $1 status=$st"
	cat $dev
	echo "END $1"
}
insmod ./sampledrv.ko default_seed=7 call_timeout_ms=3000 || exit 10
[ -e /dev/sampledrv_lpc ] && echo LPC-DEVICE-PRESENT
[ -e $dev ] && echo DRIVER-DEVICE-BEFORE-DAEMON
node ${cli} udaemon ./manifest.json --workers 3 --report-s 0 > daemon.log 2>&1 &
daemon=$!
i=0
while [ ! -e $dev ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ -e $dev ] || { echo NO-DRIVER-DEVICE; cat daemon.log; exit 11; }
echo DRIVER-DEVICE-AFTER-ATTACH
step fact '!fact 10'
step selftest '!selftest'
step setmode '!set mode xor'
step badmode '!set mode bogus'
step dump '!dump'
step null '!null'
kill $daemon
wait $daemon
start=$(date +%s)
step orphan '!set mode add'
echo "ORPHAN-SECONDS $(( $(date +%s) - start ))"
rmmod sampledrv && echo UNLOADED
echo DAEMON-LOG
cat daemon.log
`;

describe('emitted chardev in a guest kernel', () => {
  let guest: GuestResult;
  let procedures: string[];
  const steps = new Map<string, { status: number; read: string }>();

  beforeAll(async () => {
    const out = path.join(work, 'out');
    const emit = runCli(['emit', 'fixtures/chardev', '--user', CHARDEV_USER, '--out', out]);
    expect(emit.status, emit.stderr).toBe(0);
    const [k, u] = await Promise.all([buildKmod(out), buildUdaemon(out)]);
    expect(diagnostics(k.out)).toEqual([]);
    expect(k.code).toBe(0);
    expect(u.code).toBe(0);
    procedures = JSON.parse(readFileSync(path.join(out, 'udaemon/manifest.json'), 'utf8')).procedures.map((p: { name: string }) => p.name);
    guest = await runInGuest({
      script: SCRIPT(path.join(repoRoot, 'dist/src/cli/main.js')),
      files: {
        'sampledrv.ko': path.join(out, 'kmod/sampledrv.ko'),
        'manifest.json': path.join(out, 'udaemon/manifest.json'),
        'libsampledrv_user.so': path.join(out, 'udaemon/libsampledrv_user.so'),
      },
      timeoutMs: 400_000,
    });
    for (const m of guest.output.matchAll(/BEGIN (\w+) status=(\d+)\n([\s\S]*?)END \1/g)) {
      steps.set(m[1], { status: Number(m[2]), read: m[3] });
    }
  }, 600_000);

  it('boots, runs the script and stays healthy', () => {
    expect(guest.timedOut).toBe(false);
    expect(guest.kernelFaults).toEqual([]);
    expect(guest.exitCode, guest.output).toBe(0);
  });

  it('loads before any daemon and shows the driver\'s device only after the daemon attached', () => {
    expect(guest.output).toContain('LPC-DEVICE-PRESENT');
    expect(guest.output).not.toContain('DRIVER-DEVICE-BEFORE-DAEMON');
    expect(guest.output).toContain('DRIVER-DEVICE-AFTER-ATTACH');
  });

  it('returns a moved procedure\'s result to write() (sample_factorial)', () => {
    expect(steps.get('fact')).toEqual({ status: 0, read: '10! = 3628800\n' });
  });

  it('runs a moved self-test that calls back into the kernel (EXEC sample_checksum)', () => {
    expect(steps.get('selftest')).toEqual({ status: 0, read: 'selftest: 0 failed\n' });
  });

  it('passes strings and a struct in and out (sample_config_update), and its errors', () => {
    expect(steps.get('setmode')).toEqual({ status: 0, read: 'mode=xor\n' });
    expect(steps.get('badmode')?.status).not.toBe(0);
  });

  it('fills a caller\'s buffer in user space, with the module parameter the moved init read', () => {
    const dump = steps.get('dump');
    expect(dump?.status).toBe(0);
    // sample_config_defaults ran in user space reading default_seed=7 through its LPC lock.
    expect(dump?.read).toMatch(/^seed=0x7 max_write=4095 mode=xor verbose=0 generation=1\n/);
  });

  it('runs a moved command given no arguments (a NULL string), whose reply_len = 0 reaches the kernel (sample_cmd_null)', () => {
    expect(procedures).toContain('sample_cmd_null');
    // With the dump's reply_len still in the kernel, the read would repeat the dump; 0 makes it report writes and checksum.
    expect(steps.get('null')?.status).toBe(0);
    expect(steps.get('null')?.read).toMatch(/^\d+ [0-9a-f]{8}\n$/);
  });

  it('fails calls in bounded time once the daemon is gone, and unloads', () => {
    expect(steps.get('orphan')?.status).not.toBe(0);
    const secs = Number(/ORPHAN-SECONDS (\d+)/.exec(guest.output)?.[1]);
    expect(secs).toBeLessThan(10);
    expect(guest.output).toContain('UNLOADED');
  });
});
