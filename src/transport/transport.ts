/**
 * The one byte-stream interface every transport implements (TCP, TLS, WebSocket, user-supplied).
 * The session layer never sees anything else, so a new runtime needs only a new adapter.
 */
export interface Transport {
  /** Queue bytes; returns false when the transport's buffer is full (wait for onDrain). */
  write(data: Uint8Array): boolean;
  /** Close gracefully once written data is flushed. */
  end(): void;
  /** Close at once. */
  destroy(): void;
  /** Stop and restart delivering data (backpressure from slow consumers). */
  pause(): void;
  resume(): void;
}

export interface TransportHandlers {
  onData(chunk: Uint8Array): void;
  onDrain(): void;
  /** The stream closed; `err` is set when it broke rather than ended. Called once. */
  onClose(err?: Error): void;
}

export interface TransportOptions {
  /** Aborts the opening (connect timeout, user abort). */
  signal?: AbortSignal;
}

/** Opens a byte stream to `url`; resolves once it is open, rejects with a TransportError if it cannot be. */
export type TransportFactory = (url: URL, handlers: TransportHandlers, options: TransportOptions) => Promise<Transport>;
