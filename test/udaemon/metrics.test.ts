import { describe, expect, it } from 'vitest';
import { MetricsBatch, percentile, SharedMetrics } from '../../udaemon/metrics.js';

describe('a worker batch of metrics', () => {
  it('reaches the shared counters every 64 calls and on flush, with only the timed calls in the histogram', () => {
    const shared = new SharedMetrics();
    const batch = new MetricsBatch(shared);
    for (let i = 0; i < 63; i++) batch.record(i % 16 === 0 ? 100 : -1, false);
    expect(shared.snapshot().served).toBe(0);
    batch.record(-1, true);
    let s = shared.snapshot();
    expect(s).toMatchObject({ served: 64, errors: 1, maxUs: 100 });
    expect(s.histogram.reduce((a, b) => a + b, 0)).toBe(4);
    batch.record(5000, false);
    batch.recordError();
    batch.flush();
    s = shared.snapshot();
    expect(s).toMatchObject({ served: 65, errors: 2, maxUs: 5000 });
    // Four of the five timed calls took 100 µs: the median is their bucket's bound (about 19% above).
    expect(percentile(s, 50)).toBeGreaterThanOrEqual(100);
    expect(percentile(s, 50)).toBeLessThan(120);
    expect(percentile(s, 100)).toBe(5000);
  });

  it('adds the batches of several workers', () => {
    const shared = new SharedMetrics();
    const a = new MetricsBatch(new SharedMetrics(shared.sab));
    const b = new MetricsBatch(new SharedMetrics(shared.sab));
    a.record(10, false);
    b.record(2000, false);
    b.record(-1, false);
    a.flush();
    b.flush();
    b.flush(); // nothing pending: adds nothing
    expect(shared.snapshot()).toMatchObject({ served: 3, errors: 0, maxUs: 2000 });
  });
});
