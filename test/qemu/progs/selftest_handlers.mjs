// TypeScript/JavaScript procedures of the self-test's user half (manifest "handler").
export function js_nop() {}

/** Like the C sum_via_kernel: the kernel adds, user space combines (+2 marks the JS path). */
export function js_sum_via_kernel({ args, kernel }) {
  const { status, result } = kernel.exec('add', args, 8);
  if (status) return { status };
  return new DataView(result.buffer, result.byteOffset).getBigInt64(0, true) * 100n + 2n;
}

/** Adds a to the kernel's counter under the shared lock, from JS. */
export function js_bump_counter({ params, kernel }) {
  const data = kernel.lock('counter', 2000);
  const v = new DataView(data.buffer, data.byteOffset);
  v.setBigInt64(0, v.getBigInt64(0, true) + params.a, true);
  kernel.unlock('counter', data);
  return v.getBigInt64(0, true);
}
