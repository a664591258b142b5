/**
 * The first value `find()` returns that is not undefined: at once when there is one, else re-checked
 * each time the caller announces a change by calling every function in `changed`; rejects after
 * `timeoutMs` with `why()` as the message. One waiting loop for broker events and log lines.
 */
export function waitForMatch<T>(find: () => T | undefined, changed: Set<() => void>, timeoutMs: number, why: () => string): Promise<T> {
  const found = find();
  if (found !== undefined) return Promise.resolve(found);
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const value = find();
      if (value === undefined) return;
      changed.delete(check);
      clearTimeout(timer);
      resolve(value);
    };
    const timer = setTimeout(() => {
      changed.delete(check);
      reject(new Error(why()));
    }, timeoutMs);
    changed.add(check);
  });
}
