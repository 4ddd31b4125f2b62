// timeCalls runs fn 20 times unmeasured, then n times measured one by one,
// and returns the median, 99th percentile and mean in milliseconds.
export function timeCalls(fn, n) {
  for (let i = 0; i < 20; i++) fn();
  const d = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    d[i] = performance.now() - t0;
    sum += d[i];
  }
  d.sort();
  return { calls: n, p50_ms: d[n >> 1], p99_ms: d[Math.min(n - 1, Math.floor((n * 99) / 100))], mean_ms: sum / n };
}
