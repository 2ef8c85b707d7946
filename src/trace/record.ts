/**
 * The trace record: one request's whole story, as the recorder (trace.ts) makes it and as the admin
 * API (`GET /traces`, `/traces/stream`), the dashboard's trace page and the terminal printer (print.ts)
 * read it. Plain JSON data: it crosses the cluster's IPC channel as it is.
 *
 * A contract shared with the dashboard (branch `dash`): fields may be added, never renamed.
 */

/** A part of the request as llhttp reported it; `offset` and `length` are in `received`'s raw bytes. */
export interface TraceSpan { kind: 'method' | 'target' | 'version' | 'header-name' | 'header-value' | 'body'; offset: number; length: number; text: string }

/** One thing that happened, in order. */
export interface TraceStep {
  /** ms since the first byte, 3 decimals. */
  at: number
  phase: 'parse' | 'check' | 'route' | 'filter' | 'balance' | 'connect' | 'upstream' | 'response' | 'framing' | 'end'
  what: string
  verdict?: string
  why?: string
  /** e.g. "RFC 9112 §6.3" */
  rfc?: string
}

/** One line of the head sent upstream; removed lines are kept, marked. */
export interface TraceHeadLine { text: string; change: 'kept' | 'added' | 'removed' | 'changed' }

export interface TraceRecord {
  /** Unique in the process group, e.g. "w1.4242-42" (worker 1, pid 4242) or "p-42" (a single process). */
  id: string
  /** Epoch ms of the first byte. */
  started: number
  client: { address: string; port: number; listener: string; tls: boolean }
  /**
   * The request head (and up to 4 KiB of body) as received, escaped: printable ASCII as is, CR as \r,
   * LF as \n (then a real newline), other bytes \xNN; secrets masked.
   */
  received: string
  spans: TraceSpan[]
  steps: TraceStep[]
  route?: string
  /** "host:port" */
  peer?: string
  upstreamHead?: TraceHeadLine[]
  /** Escaped as `received`. */
  responseHead?: string
  /** e.g. "content-length 1234", "chunked", "close-delimited", "none (HEAD)" */
  framing?: string
  status?: number
  /** ms: "parse", "filters", "connect", "upstream head" (time to the response head), "body", "total". */
  timings: Record<string, number>
  /** Names of the fields whose values were masked. */
  masked: string[]
}
