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
  /** Deliver data again after `pause()`. */
  resume(): void;
}

/** How a transport hands the client what happens on the stream. */
export interface TransportHandlers {
  /** Bytes read, split anywhere (the decoder reassembles). Hand over a fresh chunk each time: messages keep views into it. */
  onData(chunk: Uint8Array): void;
  /** The buffer that made `write()` return false has drained: writing may go on. */
  onDrain(): void;
  /** The stream closed; `err` is set when it broke rather than ended. Called once. */
  onClose(err?: Error): void;
}

/** PEM text or DER/PEM bytes, or a list of them (e.g. several CA certificates). */
export type TlsData = string | Uint8Array | (string | Uint8Array)[];

/**
 * TLS settings for mqtts:// and wss:// (ClientOptions carries the same fields). Plain types only,
 * so the core stays free of Node's Buffer; the Node adapters hand them to node:tls / ws as they are.
 */
export interface TlsOptions {
  /** CA certificates to trust instead of the runtime's default store (PEM). */
  ca?: TlsData;
  /** Client certificate chain (PEM), for brokers that require one; goes with `key`. */
  cert?: TlsData;
  /** Private key of `cert` (PEM). */
  key?: TlsData;
  /** Passphrase of an encrypted `key`. */
  passphrase?: string;
  /** Server name for SNI and for checking the certificate (default: the URL's host name unless it is an IP address). */
  servername?: string;
  /** Verify the broker's certificate chain and host name. Default true; false accepts any certificate. */
  rejectUnauthorized?: boolean;
  /** ALPN protocol names to offer, e.g. ['mqtt'] (AWS IoT on port 443 wants 'x-amzn-mqtt-ca'). */
  alpnProtocols?: string[];
}

/** What a TransportFactory gets besides the URL: the TLS options of the client, and a signal. */
export interface TransportOptions extends TlsOptions {
  /** Aborts the opening (connect timeout, user abort). */
  signal?: AbortSignal;
}

/** Opens a byte stream to `url`; resolves once it is open, rejects with a TransportError if it cannot be. */
export type TransportFactory = (url: URL, handlers: TransportHandlers, options: TransportOptions) => Promise<Transport>;
