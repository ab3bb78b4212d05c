/**
 * Register and port access from the user half, in a real kernel (one QEMU
 * boot): the irqdev sample emitted with its register dump, scratch-register
 * test and fw_cfg identification moved to user space. Their MMIO and port
 * reads and writes travel as EXEC_LPC calls on cookies the kernel half
 * checks against the device's region and the ports the driver requested;
 * the values must be the device's and QEMU's, and the signature the user
 * half stores in the driver's structure must reach the kernel. Then hostile
 * processes, attached as the daemon, EXEC the accessors with forged handles,
 * short arguments and accesses outside a lent port region: each gets an
 * errno, the kernel stays healthy.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, repoRoot } from '../support/cli.js';
import { buildKmod, buildUdaemon, diagnostics } from '../emit/support.js';
import { runInGuest, type GuestResult } from './harness.js';
import { cc, progs, stepLines } from './support.js';

const work = mkdtempSync(path.join(os.tmpdir(), 'split-driver-emit-irqdev-'));
const ENOENT = 2;
const EINVAL = 22;
/** "QEMU" as a little-endian u32, as fw_cfg's signature item reads. */
const QEMU_SIG = Buffer.from('QEMU').readUInt32LE(0).toString(16).padStart(8, '0');

const SCRIPT = (cli: string, hash: string) => `
insmod ./irqdev.ko call_timeout_ms=30000 || exit 10
node ${cli} udaemon ./manifest.json --workers 2 --report-s 0 > daemon.log 2>&1 &
daemon=$!
i=0
while [ ! -e /dev/irqdev ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
[ -e /dev/irqdev ] || { echo NO-DRIVER-DEVICE; cat daemon.log; exit 11; }
./irqdev_io regs /dev/irqdev || echo REGS-FAILED
kill $daemon
wait $daemon
./irqdev_io hostile /dev/irqdev_lpc ${hash} || echo HOSTILE-FAILED
./irqdev_io portcall /dev/irqdev_lpc /dev/irqdev ${hash} || echo PORTCALL-FAILED
rmmod irqdev && echo UNLOADED
echo DAEMON-LOG
cat daemon.log
`;

/** The fixture's register map (fixtures/irqdev/irqdev.h): index of each 32-bit register. */
const REG = { ID: 0, CTRL: 1, IRQ_MASK: 3, COALESCE: 6, PERIOD: 7, SCRATCH: 9 };

describe('emitted irqdev: registers from the user half, in a guest kernel', () => {
  let guest: GuestResult;
  let steps: Map<string, string>;
  let kernelC: string;

  beforeAll(async () => {
    const out = path.join(work, 'out');
    const emit = runCli(['emit', 'fixtures/irqdev', '--user', 'irqdev_dump_regs,irqdev_test_scratch,irqdev_fw_ident', '--out', out]);
    expect(emit.status, emit.stderr).toBe(0);
    const [k, u] = await Promise.all([buildKmod(out), buildUdaemon(out)]);
    expect(diagnostics(k.out)).toEqual([]);
    expect(k.code).toBe(0);
    expect(u.code).toBe(0);
    kernelC = readFileSync(path.join(out, 'kmod/irqdev_main.c'), 'utf8');
    const manifest = JSON.parse(readFileSync(path.join(out, 'udaemon/manifest.json'), 'utf8'));
    const prog = cc(path.join(work, 'irqdev_io'), path.join(progs, 'irqdev_io.c'), '-I', path.join(repoRoot, 'fixtures/irqdev'));
    guest = await runInGuest({
      script: SCRIPT(path.join(repoRoot, 'dist/src/cli/main.js'), manifest.planHash),
      files: {
        'irqdev.ko': path.join(out, 'kmod/irqdev.ko'),
        'manifest.json': path.join(out, 'udaemon/manifest.json'),
        'libirqdev_user.so': path.join(out, 'udaemon/libirqdev_user.so'),
        irqdev_io: prog,
      },
      timeoutMs: 400_000,
    });
    steps = stepLines(guest.output);
  }, 600_000);

  it('moves the register and port code: the kernel half keeps only stubs for it', () => {
    expect(kernelC).toMatch(/lpc_call_user\(lpc_dev_get\(\), "irqdev_dump_regs"/);
    expect(kernelC).toMatch(/lpc_call_user\(lpc_dev_get\(\), "irqdev_test_scratch"/);
    expect(kernelC).toMatch(/lpc_call_user\(lpc_dev_get\(\), "irqdev_fw_ident"/);
    expect(kernelC).not.toMatch(/regs->regs\[i\] = IRQDEV_R32/);
    expect(kernelC).not.toMatch(/\binb\(|\boutw\(/);
  });

  it('boots, runs the script and stays healthy', () => {
    expect(guest.timedOut).toBe(false);
    expect(guest.kernelFaults).toEqual([]);
    expect(guest.exitCode, guest.output).toBe(0);
    expect(guest.output).not.toContain('REGS-FAILED');
    expect(guest.output).not.toContain('HOSTILE-FAILED');
    expect(guest.output).not.toContain('PORTCALL-FAILED');
    expect(guest.output).toContain('UNLOADED');
  });

  it('reads the device\'s registers from user space (irqdev_dump_regs)', () => {
    const regs = steps.get('regs')?.split(' ').map((x) => parseInt(x, 16));
    expect(regs).toHaveLength(10);
    // What probe programmed: the ID after reset, then the default configuration.
    expect(regs![REG.ID]).toBe(0x1d0e0000 | 3);
    expect(regs![REG.CTRL]).toBe(0x3);
    expect(regs![REG.IRQ_MASK]).toBe(0x3);
    expect(regs![REG.COALESCE]).toBe(4);
    expect(regs![REG.PERIOD]).toBe(4);
    expect(regs![REG.SCRATCH]).toBe(0);
  });

  it('writes them from user space: the scratch test passes and leaves its last pattern in the register', () => {
    expect(steps.get('selftest')).toBe('0');
    const regs2 = steps.get('regs2')?.split(' ').map((x) => parseInt(x, 16));
    expect(regs2![REG.SCRATCH]).toBe(0x01234567);
    expect(regs2![REG.ID]).toBe(0x1d0e0000 | 3);
  });

  it('reads QEMU\'s fw_cfg through the ports the driver requested, and the kernel sees what the user half stored (irqdev_fw_ident)', () => {
    // The ioctl returns priv->fw_sig and fw_features as the kernel half has them after the call: only the user half wrote them.
    const [ret, sig, features] = steps.get('fwident')!.split(' ');
    expect(ret).toBe('0');
    // The signature came through insb, the features through inb: bit 0 is the port interface this used.
    expect(sig).toBe(QEMU_SIG);
    expect(parseInt(features, 16) & 1).toBe(1);
  });

  it('checks every port access of a daemon against the region it lent for the call', () => {
    // A daemon serving irqdev_fw_ident gets a cookie for fw_cfg's 12 ports, at offset 0.
    expect(steps.get('port_cookie')).toBe('1 0');
    expect(Number(steps.get('port_select'))).toBe(8);
    expect(steps.get('port_sig')).toBe(QEMU_SIG);
    for (const c of ['past_end', 'straddle', 'misaligned16', 'misaligned32', 'far', 'max']) expect(Number(steps.get(`port_${c}`)), c).toBe(-EINVAL);
    expect(Number(steps.get('port_otherhandle'))).toBe(-ENOENT);
    // Its answer reached the application, and once the call returned the cookie is dead.
    expect(steps.get('portcall_ident')).toBe(`0 ${QEMU_SIG} ${steps.get('fwident')!.split(' ')[2]}`);
    expect(Number(steps.get('port_after'))).toBe(-ENOENT);
  });

  it('refuses forged cookies and short arguments with an errno', () => {
    // No call is running, so no region is lent: every handle is unknown.
    for (const c of ['handle0', 'handle1', 'handle2', 'handlemax', 'kernelptr']) {
      expect(Number(steps.get(`read_${c}`)), c).toBe(-ENOENT);
      expect(Number(steps.get(`write_${c}`)), c).toBe(-ENOENT);
    }
    expect(Number(steps.get('short'))).toBe(-EINVAL);
    // Port I/O is served by the ioread/iowrite accessors: there is no lpc_io_inb to call.
    expect(Number(steps.get('port'))).toBeLessThan(0);
  });
});
