/** What the worker processes of the clients and soak benches read about themselves. */

/** A full GC (the worker runs with --expose-gc), so heap figures count live objects only. */
export function gcNow(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  // Twice: the first pass can leave objects that only become garbage once finalizers ran.
  gc();
  gc();
}

/** The process's active resources by kind (TCPSocketWrap, PipeWrap, Timeout...). */
export function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1;
  return out;
}
