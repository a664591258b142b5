/**
 * The client's lifecycle: one table of states and the transitions allowed between them. The
 * Lifecycle below is the only writer of the client's state; every other part asks it.
 *
 *   new ──connect()──> connecting ──CONNACK 0──> connected ──end()──> closing ──> closed
 *                        │    ^                     │
 *          attempt failed│    │backoff elapsed      │connection lost
 *        (will retry)    v    │                     v
 *                      reconnecting <───────────────┘
 *
 * and from every state but closed, straight to closed: destroy(), a permanent error, a failure
 * with no retry to come, or end() before there is a connection to close gracefully.
 */
export type ConnectionState = 'new' | 'connecting' | 'connected' | 'reconnecting' | 'closing' | 'closed';

export const TRANSITIONS: { readonly [From in ConnectionState]: readonly ConnectionState[] } = {
  new: ['connecting', 'closed'],
  connecting: ['connected', 'reconnecting', 'closed'],
  connected: ['reconnecting', 'closing', 'closed'],
  reconnecting: ['connecting', 'closed'],
  closing: ['closed'],
  closed: [],
};

export class Lifecycle {
  private current: ConnectionState = 'new';
  /** end() was called while there was no connection yet to close: it connects once more to deliver, then closes. */
  private endRequested = false;

  /** `onChange` hears every transition (the client logs them). */
  constructor(private readonly onChange?: (from: ConnectionState, to: ConnectionState) => void) {}

  get state(): ConnectionState {
    return this.current;
  }

  /** Moves to `next`; a transition the table does not allow is a bug in mqttwire, never the application's doing. */
  to(next: ConnectionState): void {
    const from = this.current;
    if (!TRANSITIONS[from].includes(next)) throw new Error(`mqttwire internal error: no transition from ${from} to ${next}`);
    this.current = next;
    this.onChange?.(from, next);
  }

  /** closing or closed, or end() called: the client takes no new work. */
  get ending(): boolean {
    return this.endRequested || this.current === 'closing' || this.current === 'closed';
  }

  /** end() before the state can be closing (the client still has to connect to deliver): no new work from now on. */
  requestEnd(): void {
    this.endRequested = true;
  }
}

/**
 * Why a call cannot proceed in `state`. A client whose first connect() failed (`firstFailure`) says
 * so, and why it stays closed.
 */
export function refusal(what: string, state: ConnectionState, firstFailure?: Error): string {
  if (state !== 'closed' || firstFailure === undefined) return `cannot ${what}: the client is ${state}`;
  return (
    `cannot ${what}: the client closed when its first connect() failed (${firstFailure.message}). A closed client stays closed ` +
    '(its `closed` promise has settled and its status streams have ended): make a new client, or set ' +
    'reconnect.retryFirstConnect to let connect() wait for the broker'
  );
}
