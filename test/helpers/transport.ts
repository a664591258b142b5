import type { Transport } from '../../src/transport/transport.js';

/**
 * A Transport that forwards every call to `t`, but for the methods `own` replaces: how a test
 * watches or bends a real transport (a class instance, whose methods spreading would not copy).
 */
export function forwarding(t: Transport, own: Partial<Transport>): Transport {
  return {
    write: (data) => t.write(data),
    end: () => t.end(),
    destroy: () => t.destroy(),
    pause: () => t.pause(),
    resume: () => t.resume(),
    ...own,
  };
}
