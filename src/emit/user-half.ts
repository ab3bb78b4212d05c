/**
 * The user half's C: the moved functions as the author wrote them, each one
 * the kernel calls followed by its procedure wrapper; the kernel functions
 * they call replaced by stubs of the same signature that EXEC_LPC them; the
 * data they use; and the runtime (lpc_user.c) with the contract's two entry
 * points, lpc_user_init() and lpc_user_dispatch().
 */
import { calleeWrapper, callerStub, USER_CALLER, wrapCall } from './cgen.js';
import { USER_IO_RUNTIME } from './iomem.js';
import { USER_PORT_RUNTIME } from './ports.js';
import { signatureOf, wireStructs, wireTags } from './kernel-half.js';
import { leadingComment, type SourceIndex, type TopItem } from './source.js';
import type { Split } from './split.js';

/** `[static] DEFINE_MUTEX(name);` and the like: a file-scope lock, whose name is group 1. */
const LOCK_DEFINITION = /^\s*(?:static\s+)?DEFINE_(?:MUTEX|SPINLOCK)\s*\(\s*([A-Za-z_]\w*)\s*\)/;

const lastInclude = (idx: SourceIndex): TopItem | undefined => [...idx.items].reverse().find((it) => it.kind === 'directive' && /^#\s*include\b/.test(idx.text.slice(it.start, it.end)));

/** Does this .c file contribute anything to the user half? */
export function hasUserPart(idx: SourceIndex, split: Split): boolean {
  return split.fns.some((f) => f.idx === idx && (f.side === 'user' || split.exports.has(f)));
}

export function userFile(idx: SourceIndex, split: Split): string {
  const text = idx.text;
  const keep = new Map<TopItem, string>();
  const userNames = new Set(split.fns.filter((f) => f.side === 'user' || split.exports.has(f)).map((f) => f.fn.name));
  const userRefs = new Set(split.fns.filter((f) => f.idx === idx && f.side === 'user').flatMap((f) => [...f.item.refs]));
  for (const it of idx.items) {
    const info = split.byItem.get(it);
    if (it.kind === 'function' && info) {
      if (info.side === 'user') {
        let s = text.slice(it.start, it.end);
        const plan = split.procedures.get(info);
        if (plan) {
          const t = wireTags(plan, 'call');
          const shared = split.procShared.get(info) ?? [];
          let wrapper = calleeWrapper(plan, `lpc_proc_${plan.name}`, '', t.args, t.res, info.fn.name);
          if (shared.length > 0) {
            // Take the kernel's copy of the shared data for the call, and give it back after.
            // Held in the table's order (the kernel half takes them in the same order), released in reverse.
            const release = (gs: typeof shared): string[] => [...gs].reverse().map((g) => `lpc_release(&lpc_shared_${g.name});`);
            const holds = shared
              .map((g, i) => {
                const undo = release(shared.slice(0, i));
                const fail = undo.length ? ` {\n${undo.map((l) => `\t\t${l}\n`).join('')}\t\treturn ret;\n\t}` : '\n\t\treturn ret;';
                return `\tret = lpc_hold(&lpc_shared_${g.name});\n\tif (ret)${fail}`;
              })
              .join('\n');
            const releases = release(shared).map((l) => `\t${l}`).join('\n');
            wrapper = wrapper
              .replace('\tsize_t off = sizeof(*r);\n', '\tsize_t off = sizeof(*r);\n\tint ret;\n')
              .replace(/\n(\t(?:r->ret = )?[A-Za-z_]\w*\((?:[^;]|\n)*?\);\n(?:\tr->\w+ = lpc_\w+\.\w+;\n)*)(\treturn off;\n\}\n)$/, `\n${holds}\n$1${releases}\n$2`);
          }
          s += `\n\n${wireStructs(plan, 'call')}\n${wrapper.trimEnd()}`;
        }
        keep.set(it, s);
      } else if (split.exports.has(info)) {
        const plan = split.exports.get(info)!;
        const t = wireTags(plan, 'exec');
        keep.set(it, `${wireStructs(plan, 'exec')}\n/* Runs in the kernel half (EXEC_LPC). */\n${callerStub(plan, signatureOf(info), t.args, t.res, USER_CALLER).trimEnd()}`);
      }
    } else if (it.kind === 'prototype') {
      if (it.names.some((n) => userNames.has(n))) keep.set(it, text.slice(it.start, it.end));
    } else if (it.kind === 'variable') {
      if (split.userVars.has(it)) {
        let s = text.slice(it.start, it.end);
        const g = split.shared.find((x) => x.item === it);
        if (g) s += `\nstatic struct lpc_shared lpc_shared_${g.name} = {\n\t.name = "${g.lock}",\n\t.data = &${g.name},\n\t.size = sizeof(${g.name}),\n};`;
        keep.set(it, s);
      }
    } else if (it.kind === 'directive' || it.kind === 'type') {
      keep.set(it, text.slice(it.start, it.end));
    } else if (it.kind === 'statement') {
      // The moved code's own lock serialises the user half's threads; the LPC lock guards the data across halves.
      const m = LOCK_DEFINITION.exec(text.slice(it.start, it.end));
      if (m && userRefs.has(m[1])) keep.set(it, text.slice(it.start, it.end));
    }
  }
  // Comments stay with what they describe.
  for (const it of idx.items) {
    if (it.kind !== 'comment') continue;
    const next = idx.items[idx.items.indexOf(it) + 1];
    const describes = next && leadingComment(idx, next) === it;
    if (!describes || keep.has(next)) keep.set(it, text.slice(it.start, it.end));
  }
  const inc = lastInclude(idx);
  const parts: string[] = [];
  for (const it of idx.items) {
    const s = keep.get(it);
    if (s === undefined) continue;
    parts.push(it === inc ? `${s}\n\n#include "lpc_user.h"` : s);
  }
  if (!inc) parts.unshift('#include "lpc_user.h"');
  return `${parts.join('\n\n').replace(/\n{3,}/g, '\n\n')}\n`;
}

export function userHeader(split: Split, driver: string): string {
  const procs = [...split.procedures.values()].map((p) => wrapCall(0, `int lpc_proc_${p.name}`, ['const void *args', 'size_t len', 'void *result', 'size_t rlen'], ';'));
  const handles = [...split.handleTags].sort().map((t) => `#define lpc_handle_of_${t}(p) ((u64)(uintptr_t)(p))\n#define lpc_handle_get_${t}(h) ((void *)(uintptr_t)(h))\n#define lpc_handle_put_${t}(h) ((void)(h))`);
  return `/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpc_user.h - the user half of ${driver}: its runtime and its procedures.
 * Generated by split-driver emit.
 */
#ifndef _LPC_USER_H
#define _LPC_USER_H

#include "kcompat.h"
#include "lpc_wire.h"

#define LPC_ARGS_MAX 65536

/* Kernel data the user half works on a copy of (LOCK_LPC/UNLOCK_LPC). */
struct lpc_shared {
	const char *name;
	void *data;
	size_t size;
	/* private to the runtime */
	int holders;
	int busy;
	void *taken;
};

int lpc_exec(const char *proc, const void *args, size_t len, void *result,
	     size_t rlen);
void lpc_exec_failed(const char *proc, int err);
int lpc_hold(struct lpc_shared *s);
void lpc_release(struct lpc_shared *s);

${procs.join('\n')}
${handles.length ? `\n/* Opaque handles: kernel objects the user half only passes back. */\n${handles.join('\n')}\n` : ''}
#endif /* _LPC_USER_H */
`;
}

export function userRuntime(split: Split, driver: string): string {
  const heldMax = Math.max(1, ...[...split.procShared.values()].map((l) => l.length));
  const table = [...split.procedures.values()].map((p) => `\t{ "${p.name}", lpc_proc_${p.name} },`).join('\n');
  return `// SPDX-License-Identifier: GPL-2.0
/*
 * lpc_user.c - runtime of the user half of ${driver}: the entry points the
 * daemon calls (lpc_user_init, lpc_user_dispatch) and the calls back into
 * the kernel half (EXEC_LPC, LOCK_LPC, UNLOCK_LPC) on the daemon's device.
 * Generated by split-driver emit.
 */
#include <sys/ioctl.h>

#include "lpc_abi.h"
#include "lpc_user.h"

#define LPC_API __attribute__((visibility("default")))

typedef int (*lpc_proc_fn)(const void *args, size_t len, void *result,
			   size_t rlen);

static const struct {
	const char *name;
	lpc_proc_fn fn;
} lpc_procs[] = {
${table || '\t{ NULL, NULL },'}
};

static int lpc_fd = -1;
/* The request this thread serves: EXEC passes it so the kernel knows the nesting. */
static __thread unsigned long long lpc_request;
static pthread_mutex_t lpc_shared_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lpc_shared_cond = PTHREAD_COND_INITIALIZER;
/* The shared data this thread holds, in the order it took them (LIFO). */
static __thread struct lpc_shared *lpc_held[${heldMax}];
static __thread unsigned int lpc_n_held;

/* Waits until no other thread works on the copy of @s, then claims it. */
static void lpc_shared_claim(struct lpc_shared *s)
{
	pthread_mutex_lock(&lpc_shared_lock);
	while (s->busy)
		pthread_cond_wait(&lpc_shared_cond, &lpc_shared_lock);
	s->busy = 1;
	pthread_mutex_unlock(&lpc_shared_lock);
}

static void lpc_shared_unclaim(struct lpc_shared *s)
{
	pthread_mutex_lock(&lpc_shared_lock);
	s->busy = 0;
	pthread_cond_broadcast(&lpc_shared_cond);
	pthread_mutex_unlock(&lpc_shared_lock);
}

LPC_API int lpc_user_init(int fd)
{
	if (fd < 0)
		return -EBADF;
	lpc_fd = fd;
	return 0;
}

LPC_API int lpc_user_dispatch(const char *proc, const void *args,
			      unsigned int args_len, void *result,
			      unsigned int result_cap, unsigned int *result_len,
			      unsigned long long request_id)
{
	unsigned long long outer = lpc_request;
	size_t i;
	int ret;

	*result_len = 0;
	for (i = 0; i < ARRAY_SIZE(lpc_procs); i++) {
		if (!lpc_procs[i].name || strcmp(lpc_procs[i].name, proc))
			continue;
		lpc_request = request_id;
		ret = lpc_procs[i].fn(args, args_len, result, result_cap);
		lpc_request = outer;
		if (ret < 0)
			return ret;
		*result_len = (unsigned int)ret;
		return 0;
	}
	return -ENOENT;
}

int lpc_exec(const char *proc, const void *args, size_t len, void *result,
	     size_t rlen)
{
	struct lpc_msg m;
	unsigned int i;
	int ret;

	memset(&m, 0, sizeof(m));
	m.id = lpc_request;
	snprintf(m.proc, sizeof(m.proc), "%s", proc);
	m.args = (uintptr_t)args;
	m.args_len = (__u32)len;
	m.result = (uintptr_t)result;
	m.result_cap = (__u32)rlen;
	for (i = 0; i < lpc_n_held; i++)
		lpc_shared_unclaim(lpc_held[i]);
	ret = ioctl(lpc_fd, LPC_IOC_EXEC, &m) < 0 ? -errno : 0;
	for (i = 0; i < lpc_n_held; i++)
		lpc_shared_claim(lpc_held[i]);
	if (ret)
		return ret;
	if (m.status < 0)
		return m.status;
	return (int)m.result_len;
}

void lpc_exec_failed(const char *proc, int err)
{
	fprintf(stderr, "${driver}: %s: the kernel half failed: %d\\n", proc, err);
}
${USER_IO_RUNTIME}${USER_PORT_RUNTIME}/*
 * One thread at a time works on the copy.  The first holder takes the
 * kernel's lock and its copy of the data; a thread waiting in EXEC lends
 * the copy to others (a procedure the kernel runs meanwhile may be nested in
 * its call, and must not wait for it), keeping the kernel's lock; the last
 * holder writes the copy back if it changed, and releases the lock.
 */
int lpc_hold(struct lpc_shared *s)
{
	struct lpc_sync sy;
	int ret;

	lpc_shared_claim(s);
	if (s->holders == 0) {
		memset(&sy, 0, sizeof(sy));
		snprintf(sy.name, sizeof(sy.name), "%s", s->name);
		sy.data = (uintptr_t)s->data;
		sy.data_len = (__u32)s->size;
		free(s->taken);
		s->taken = malloc(s->size);
		if (!s->taken || ioctl(lpc_fd, LPC_IOC_LOCK, &sy) < 0) {
			ret = s->taken ? -errno : -ENOMEM;
			lpc_shared_unclaim(s);
			return ret;
		}
		memcpy(s->taken, s->data, s->size);
	}
	s->holders++;
	lpc_held[lpc_n_held++] = s;
	return 0;
}

void lpc_release(struct lpc_shared *s)
{
	struct lpc_sync sy;

	lpc_n_held--;
	if (--s->holders == 0) {
		memset(&sy, 0, sizeof(sy));
		snprintf(sy.name, sizeof(sy.name), "%s", s->name);
		if (memcmp(s->taken, s->data, s->size)) {
			sy.data = (uintptr_t)s->data;
			sy.data_len = (__u32)s->size;
		}
		if (ioctl(lpc_fd, LPC_IOC_UNLOCK, &sy) < 0)
			fprintf(stderr, "${driver}: unlock %s: %s\\n", s->name,
				strerror(errno));
	}
	lpc_shared_unclaim(s);
}
`;
}
