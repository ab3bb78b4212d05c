/**
 * Runs a shell script as root inside a QEMU guest booted (TCG, never KVM) with
 * the distribution's own kernel, the host's root mounted read-only over 9p.
 * The recipe is in test/qemu/README.md.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout whose dist/ and node_modules/ the guest runs. */
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Modules the guest needs for virtio-9p, in load order. */
const MODULES = [
  'kernel/drivers/virtio/virtio_ring',
  'kernel/drivers/virtio/virtio',
  'kernel/drivers/virtio/virtio_pci_modern_dev',
  'kernel/drivers/virtio/virtio_pci_legacy_dev',
  'kernel/drivers/virtio/virtio_pci',
  'kernel/fs/netfs/netfs',
  'kernel/fs/fscache/fscache',
  'kernel/net/9p/9pnet',
  'kernel/net/9p/9pnet_virtio',
  'kernel/fs/9p/9p',
];

const BUSYBOX = '/bin/busybox';

/** Console or dmesg lines that mean the guest kernel is unhealthy. */
export const KERNEL_FAULT =
  /Oops|BUG:|WARNING:|hung_task|INFO: task .* blocked|lock held when returning|scheduling while atomic|general protection fault|Call Trace/;

export interface GuestKernel {
  version: string;
  /** Kernel headers tree for `make -C <build> M=...`. */
  build: string;
  vmlinuz: string;
  modules: string;
}

/**
 * The installed kernel a module can be built for and booted: a version under
 * /lib/modules with a `build` tree and a matching /boot/vmlinuz. The running
 * kernel (`uname -r`) is usually not it.
 */
export function guestKernel(): GuestKernel {
  const found: GuestKernel[] = [];
  const modRoot = '/lib/modules';
  for (const version of existsSync(modRoot) ? readdirSync(modRoot) : []) {
    const k = {
      version,
      build: path.join(modRoot, version, 'build'),
      vmlinuz: `/boot/vmlinuz-${version}`,
      modules: path.join(modRoot, version),
    };
    if (existsSync(k.build) && existsSync(k.vmlinuz)) found.push(k);
  }
  if (found.length === 0) {
    throw new Error(
      'no installed kernel with headers and an image: install linux-image-amd64 and linux-headers-amd64',
    );
  }
  // Newest first, so an upgrade wins over a leftover.
  found.sort((a, b) => b.version.localeCompare(a.version, undefined, { numeric: true }));
  return found[0];
}

/** Appends one newc cpio member (the kernel's initramfs format). */
function cpioEntry(out: Buffer[], name: string, mode: number, data: Buffer = Buffer.alloc(0)): void {
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  const fields = [out.length + 1, mode, 0, 0, 1, 0, data.length, 0, 0, 0, 0, name.length + 1, 0];
  const header = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''));
  const nameBuf = Buffer.from(name + '\0');
  out.push(header, nameBuf, pad(header.length + nameBuf.length), data, pad(data.length));
}

/** The guest's /init: load 9p, mount the host root and the job share, run the job, power off. */
function initScript(): string {
  const insmods = MODULES.map((m) => `insmod /lib/modules/${path.basename(m)}.ko`).join('\n');
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
${insmods}
O=trans=virtio,version=9p2000.L,msize=262144
# The host's files are read-only here: the guest may cache them (node re-read its
# 99 MB binary on every start without it: 4 s, against 0.3 s).
mount -t 9p -o ro,$O,cache=loose hostroot /mnt
mount -t 9p -o $O,cache=none job /mnt/tmp
# The job share hides the host's /tmp: a checkout that lives there comes back as its own share.
if [ -f /mnt/tmp/.repo-mount ]; then mount -t 9p -o ro,$O,cache=loose repo "/mnt/tmp/$(cat /mnt/tmp/.repo-mount)"; fi
mount -t proc proc /mnt/proc
mount -t sysfs sysfs /mnt/sys
mount -t devtmpfs devtmpfs /mnt/dev
# Later kernel messages reach the console; hung tasks are reported quickly.
echo 7 > /proc/sys/kernel/printk
echo 20 > /proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
echo SPLIT-DRIVER-GUEST-START
chroot /mnt /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp \\
  /bin/sh -c 'cd /tmp && exec /bin/sh /tmp/.job.sh' > /mnt/tmp/.output 2>&1
echo $? > /mnt/tmp/.exitcode
dmesg > /mnt/tmp/.dmesg
sync
echo SPLIT-DRIVER-GUEST-END
poweroff -f
`;
}

/** Builds (once per kernel version and recipe) the initramfs, cached under os.tmpdir(). */
export function initramfs(k: GuestKernel = guestKernel()): string {
  const init = initScript();
  const key = createHash('sha1')
    .update(`${k.version}\0${statSync(BUSYBOX).mtimeMs}\0${init}`)
    .digest('hex')
    .slice(0, 12);
  const dir = path.join(os.tmpdir(), 'split-driver-qemu', k.version);
  const file = path.join(dir, `initramfs-${key}.cpio`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });

  const out: Buffer[] = [];
  for (const d of ['bin', 'dev', 'proc', 'sys', 'mnt', 'lib', 'lib/modules']) cpioEntry(out, d, 0o40755);
  cpioEntry(out, 'bin/busybox', 0o100755, readFileSync(BUSYBOX));
  cpioEntry(out, 'init', 0o100755, Buffer.from(init));
  for (const m of MODULES) {
    const ko = path.join(k.modules, `${m}.ko`);
    if (!existsSync(ko)) throw new Error(`kernel module ${ko} not found (needed for 9p in the guest)`);
    cpioEntry(out, `lib/modules/${path.basename(m)}.ko`, 0o100644, readFileSync(ko));
  }
  cpioEntry(out, 'TRAILER!!!', 0);
  // Write beside and rename, so a concurrent run never boots a half file.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.concat(out));
  renameSync(tmp, file);
  return file;
}

export interface GuestOptions {
  /** Shell script run by /bin/sh as root in the guest, in /tmp (the job directory). */
  script: string;
  /** Kill QEMU after this long (default 300 s). */
  timeoutMs?: number;
  /** Files copied into the job directory before boot: guest name -> host path. */
  files?: Record<string, string>;
  /** Extra `-append` kernel parameters. */
  append?: string;
}

export interface GuestResult {
  /** The script's exit status; -1 if the guest never reported one. */
  exitCode: number;
  timedOut: boolean;
  /** The serial console. */
  console: string;
  /** The script's stdout and stderr. */
  output: string;
  /** The guest's dmesg after the script ended. */
  dmesg: string;
  /** Console and dmesg lines that show an oops, BUG, WARNING, hung task, ... */
  kernelFaults: string[];
  /** Wall time from starting QEMU until the script started, and in total (ms). */
  bootMs: number;
  totalMs: number;
}

/**
 * Boots the guest and runs opts.script. The job directory is the guest's /tmp
 * (writable 9p share); everything else is the host's root, read-only.
 */
export async function runInGuest(opts: GuestOptions): Promise<GuestResult> {
  const k = guestKernel();
  const initrd = initramfs(k);
  const job = mkdtempSync(path.join(os.tmpdir(), 'split-driver-guest-'));
  try {
    for (const [name, src] of Object.entries(opts.files ?? {})) {
      mkdirSync(path.dirname(path.join(job, name)), { recursive: true });
      copyFileSync(src, path.join(job, name));
    }
    writeFileSync(path.join(job, '.job.sh'), opts.script);
    const shares: string[] = [];
    const underTmp = path.relative('/tmp', REPO_ROOT);
    if (!underTmp.startsWith('..') && !path.isAbsolute(underTmp)) {
      mkdirSync(path.join(job, underTmp), { recursive: true });
      writeFileSync(path.join(job, '.repo-mount'), underTmp);
      shares.push('-virtfs', `local,path=${REPO_ROOT},mount_tag=repo,security_model=none,readonly=on,multidevs=remap`);
    }
    const args = [
      '-accel', 'tcg',
      '-cpu', 'max',
      '-m', '2048',
      '-smp', '2',
      '-nographic',
      '-no-reboot',
      '-nic', 'none',
      '-kernel', k.vmlinuz,
      '-initrd', initrd,
      '-append', `console=ttyS0 quiet panic=-1 ${opts.append ?? ''}`.trim(),
      '-virtfs', 'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
      '-virtfs', `local,path=${job},mount_tag=job,security_model=none,multidevs=remap`,
      ...shares,
    ];
    const started = Date.now();
    let bootMs = -1;
    let consoleLog = '';
    let timedOut = false;
    await new Promise<void>((resolve, reject) => {
      const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        timedOut = true;
        qemu.kill('SIGKILL');
      }, opts.timeoutMs ?? 300_000);
      const take = (b: Buffer) => {
        consoleLog += b.toString('utf8');
        if (bootMs < 0 && consoleLog.includes('SPLIT-DRIVER-GUEST-START')) bootMs = Date.now() - started;
      };
      qemu.stdout.on('data', take);
      qemu.stderr.on('data', take);
      qemu.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`cannot run qemu-system-x86_64: ${e.message}`));
      });
      qemu.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    const read = (f: string) => (existsSync(path.join(job, f)) ? readFileSync(path.join(job, f), 'utf8') : '');
    const rc = read('.exitcode').trim();
    const dmesg = read('.dmesg');
    const kernelFaults = [...consoleLog.split('\n'), ...dmesg.split('\n')]
      .map((l) => l.replace(/\r$/, ''))
      .filter((l) => KERNEL_FAULT.test(l));
    return {
      exitCode: rc === '' ? -1 : Number(rc),
      timedOut,
      console: consoleLog,
      output: read('.output'),
      dmesg,
      kernelFaults,
      bootMs,
      totalMs: Date.now() - started,
    };
  } finally {
    rmSync(job, { recursive: true, force: true });
  }
}
