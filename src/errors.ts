/**
 * Every fault in rawproxy is a ProxyError with a stable code. Expected outcomes (a 404 for an unrouted
 * request, for instance) are not errors: they are replies. `statusFor` is the single place that maps a
 * fault to the status the client sees, and `causeFor` to the access log's termination cause.
 */
export type ErrorSource = 'downstream' | 'upstream' | 'internal'

export const enum Code {
  /** llhttp rejected the request bytes (RFC 9112 framing, grammar). */
  PARSE = 'PRX_ERR_PARSE',
  /** Request target longer than `limits.max_target` (RFC 9112 §3: 414). */
  TARGET_TOO_LONG = 'PRX_ERR_TARGET_TOO_LONG',
  /** Request head larger than `limits.max_head` (RFC 6585 §5: 431). */
  HEAD_TOO_LARGE = 'PRX_ERR_HEAD_TOO_LARGE',
  /** Missing or repeated Host on HTTP/1.1, or another request the proxy cannot forward (400). */
  BAD_REQUEST = 'PRX_ERR_BAD_REQUEST',
  /** A method a reverse proxy does not serve, such as CONNECT (RFC 9110 §15.6.2: 501). */
  NOT_IMPLEMENTED = 'PRX_ERR_NOT_IMPLEMENTED',
  /** The client sent no complete head within `timeouts.header`. */
  HEADER_TIMEOUT = 'PRX_ERR_HEADER_TIMEOUT',
  /** The client closed or reset the connection before the exchange completed. */
  CLIENT_ABORT = 'PRX_ERR_CLIENT_ABORT',
  /** The client stopped reading or sending for `timeouts.client_idle`. */
  CLIENT_TIMEOUT = 'PRX_ERR_CLIENT_TIMEOUT',
  /** Connecting to the peer failed (refused, unreachable). */
  CONNECT = 'PRX_ERR_UPSTREAM_CONNECT',
  /** Connecting to the peer took longer than `timeouts.connect`. */
  CONNECT_TIMEOUT = 'PRX_ERR_UPSTREAM_CONNECT_TIMEOUT',
  /** The TLS handshake with the peer failed: its certificate did not verify (wrong CA, name, expired) or no common protocol. */
  UPSTREAM_TLS = 'PRX_ERR_UPSTREAM_TLS',
  /** The peer reset or closed the connection before the response was complete. */
  UPSTREAM_RESET = 'PRX_ERR_UPSTREAM_RESET',
  /** The peer sent bytes that are not a valid HTTP/1.1 response. */
  UPSTREAM_PARSE = 'PRX_ERR_UPSTREAM_PARSE',
  /** No response head within `timeouts.upstream_response`, or the peer went idle mid-response. */
  UPSTREAM_TIMEOUT = 'PRX_ERR_UPSTREAM_TIMEOUT',
  /** The group has no peer to send to. */
  NO_PEER = 'PRX_ERR_NO_PEER',
  /** Graceful shutdown: the exchange was still running when the grace period ran out. */
  SHUTDOWN = 'PRX_ERR_SHUTDOWN',
  /** A bug: something threw that should not have. */
  INTERNAL = 'PRX_ERR_INTERNAL',
}

interface Kind { source: ErrorSource; status: number; cause: string; retryable: boolean }

// One row per code: who is at fault, what the client sees, the access log's termination cause, and
// whether another attempt may succeed (only before any response byte, see proxy/exchange.ts).
const KINDS: Record<Code, Kind> = {
  [Code.PARSE]: { source: 'downstream', status: 400, cause: 'PE', retryable: false },
  [Code.TARGET_TOO_LONG]: { source: 'downstream', status: 414, cause: 'PE', retryable: false },
  [Code.HEAD_TOO_LARGE]: { source: 'downstream', status: 431, cause: 'PE', retryable: false },
  [Code.BAD_REQUEST]: { source: 'downstream', status: 400, cause: 'PE', retryable: false },
  [Code.NOT_IMPLEMENTED]: { source: 'downstream', status: 501, cause: 'PE', retryable: false },
  [Code.HEADER_TIMEOUT]: { source: 'downstream', status: 408, cause: 'CT', retryable: false },
  [Code.CLIENT_ABORT]: { source: 'downstream', status: 499, cause: 'UC', retryable: false },
  [Code.CLIENT_TIMEOUT]: { source: 'downstream', status: 408, cause: 'CT', retryable: false },
  [Code.CONNECT]: { source: 'upstream', status: 502, cause: 'UF', retryable: true },
  [Code.CONNECT_TIMEOUT]: { source: 'upstream', status: 504, cause: 'UF', retryable: true },
  // The peer never saw the request: another peer may have a good certificate.
  [Code.UPSTREAM_TLS]: { source: 'upstream', status: 502, cause: 'US', retryable: true },
  [Code.UPSTREAM_RESET]: { source: 'upstream', status: 502, cause: 'UR', retryable: true },
  [Code.UPSTREAM_PARSE]: { source: 'upstream', status: 502, cause: 'UP', retryable: false },
  [Code.UPSTREAM_TIMEOUT]: { source: 'upstream', status: 504, cause: 'UT', retryable: false },
  [Code.NO_PEER]: { source: 'upstream', status: 503, cause: 'NP', retryable: false },
  [Code.SHUTDOWN]: { source: 'internal', status: 503, cause: 'SD', retryable: false },
  [Code.INTERNAL]: { source: 'internal', status: 500, cause: 'IE', retryable: false },
}

export class ProxyError extends Error {
  readonly code: Code
  readonly source: ErrorSource
  readonly retryable: boolean

  constructor(code: Code, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'ProxyError'
    this.code = code
    this.source = KINDS[code].source
    this.retryable = KINDS[code].retryable
  }
}

/** The status a client is sent for a fault: the one mapping from errors to statuses. */
export function statusFor(err: ProxyError): number {
  return KINDS[err.code].status
}

/** The access log's termination cause for a fault, in the style of HAProxy's termination state. */
export function causeFor(err: ProxyError | null): string {
  return err === null ? '--' : KINDS[err.code].cause
}

/** Wraps anything thrown into a ProxyError, so no error escapes untyped. */
export function asProxyError(err: unknown, fallback: Code): ProxyError {
  if (err instanceof ProxyError) return err
  const e = err as NodeJS.ErrnoException | undefined
  return new ProxyError(fallback, e?.code ?? e?.message ?? String(err), err)
}
