/**
 * Reads the PROXY protocol header (server/proxy-protocol.ts parses it) off a new connection, before
 * any HTTP or TLS byte: within `ms` (the head's timeout), or the connection is refused. The bytes
 * after the header are put back into the socket's stream, for the HTTP parser or the TLS handshake
 * (a TLS server wrapping the socket takes the bytes already buffered on it first).
 */
import type { Socket } from 'node:net'
import { ProxyHeaderReader } from './proxy-protocol.js'

/**
 * `done(client, null)`: the header was read; `client` is its source address, or null when it names
 * none (LOCAL, UNKNOWN, AF_UNIX: the socket's own peer then stands). `done(null, reason)`: refuse.
 */
export function acceptProxyHeader(s: Socket, ms: number, done: (client: string | null, err: string | null) => void): void {
  const reader = new ProxyHeaderReader()
  let over = false
  const finish = (client: string | null, err: string | null): void => {
    if (over) return
    over = true
    clearTimeout(timer)
    s.off('data', onData).off('end', onEnd).off('error', onEnd)
    done(client, err)
  }
  const onData = (chunk: Buffer): void => {
    const r = reader.push(chunk)
    if (r.state === 'more') return
    if (r.state === 'error') { finish(null, `bad PROXY protocol header: ${r.reason}`); return }
    // Paused first: unshift on a flowing socket would emit the bytes before the next reader listens.
    s.pause()
    if (r.rest.length > 0) s.unshift(r.rest)
    const src = r.header.command === 'proxy' ? r.header.source : null
    // One address, one form: an IPv4 client named in a v2 INET6 block is the IPv4 address.
    finish(src === null ? null : src.address.startsWith('::ffff:') && src.address.includes('.') ? src.address.slice(7) : src.address, null)
  }
  const onEnd = (): void => finish(null, 'closed before a complete PROXY protocol header')
  const timer = setTimeout(() => finish(null, 'no complete PROXY protocol header in time'), ms)
  s.on('data', onData).on('end', onEnd).on('error', onEnd)
}
