/**
 * Just enough of workerd's built-in `cloudflare:sockets` for cloudflare-sockets.ts to import it
 * without the Workers types (which clash with the DOM lib the core is checked against). Merges
 * with @cloudflare/workers-types' declaration where a project has both.
 */
declare module 'cloudflare:sockets' {
  export function connect(
    address: string | { hostname: string; port: number },
    options?: { secureTransport?: 'off' | 'on' | 'starttls'; allowHalfOpen?: boolean },
  ): unknown;
}
