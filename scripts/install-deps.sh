#!/usr/bin/env bash
# Installs what the tests need beyond npm: a Debian kernel with its headers
# and source (modules are built against the headers and booted under QEMU;
# real drivers are read from the source), QEMU, busybox for the guest's
# initramfs, valgrind for profiles, and the peers the benchmarks compare
# against. Then the npm dependencies. Needs root (or sudo).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq \
	qemu-system-x86 linux-image-amd64 linux-headers-amd64 linux-source-6.1 \
	busybox-static valgrind universal-ctags cflow sparse time xz-utils \
	make gcc libc6-dev chromium >/dev/null
npm ci --no-audit --no-fund
