/**
 * Accepted plain sockets read into one buffer that all of them share (Node's `onread`), and each read
 * is copied out into a buffer of its exact size, handed on as a 'data' event as before. Node's own
 * read allocates 64 KiB from the C++ heap, shrinks it to the bytes read and wraps it in a new
 * ArrayBuffer; copying the ~100 bytes of a request head costs far less. Measured on the Node pipe
 * (bench/load/tcp-pipe.ts), its client side in this mode: 1.2 µs less user CPU per request and a
 * p99 of 1.5 ms instead of 1.9 to 3.2.
 *
 * One buffer serves every socket because Node calls back synchronously after each read into it and
 * the bytes are copied before the callback returns. Each chunk is then a buffer of its own (small
 * ones are slices of Node's 8 KiB pool), so nothing downstream changes: a chunk may be kept as long
 * as anything needs it, and a socket that waits holds no buffer at all. An upload pays a copy per
 * read (tried and dropped: full reads into a buffer of the socket's own, handed on whole, which left
 * 64 KiB with each socket whose last read was full, for as long as it then waited; an independent
 * review showed it). A TLS socket is left as it is: its handshake reads the handle itself.
 *
 * `net.Server` has no `onread` option, so the accepted handle moves to a new Socket made with one, the
 * way Node's own accept makes it, the server's connection count included (node:net `onconnection`).
 * It must happen in the 'connection' event, before any byte is read. A Node whose sockets do not look
 * like that keeps the socket as it was.
 */
import { Socket } from 'node:net'
import type { Server } from 'node:net'

/** Node's read size; a read fills at most this. */
const READ = 65536
const SHARED = Buffer.allocUnsafeSlow(READ)

/** The parts of node:net's accepted Socket this relies on (lib/net.js, `onconnection`). */
interface Accepted {
  _handle: { useUserBuffer?: unknown } | null
  _server?: Server | null
  server?: Server | null
}

/** `raw`, just accepted by `server`: the same connection, read through the shared buffer. */
export function ownReads(raw: Socket, server: Server, allowHalfOpen: boolean): Socket {
  const r = raw as unknown as Accepted
  const handle = r._handle
  if (handle === null || typeof handle.useUserBuffer !== 'function' || r._server !== server || raw.bytesRead !== 0) return raw
  r._handle = null
  let s: Socket | null = null
  const callback = (n: number, buf: Buffer): void => {
    const chunk = Buffer.allocUnsafe(n)
    buf.copy(chunk, 0, 0, n)
    s!.emit('data', chunk)
  }
  s = new Socket({ handle, allowHalfOpen, readable: true, writable: true, noDelay: true, onread: { buffer: SHARED, callback } } as ConstructorParameters<typeof Socket>[0])
  // Node's destroy counts the connection off its server (so `server.close()` sees the end of it).
  const a = s as unknown as Accepted
  a.server = a._server = server
  return s
}
