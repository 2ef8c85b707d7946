/**
 * After a 101, the two sockets are joined: bytes flow both ways, with backpressure (pipe), until
 * either side closes or both are silent for `idleMs` (RFC 9110 §7.8: the connection now speaks the
 * new protocol, which we do not parse).
 */
import type { Socket } from 'node:net'

export function tunnel(client: Socket, peer: Socket, idleMs: number, done: (bytesUp: number, bytesDown: number) => void): void {
  let closed = false
  const up0 = peer.bytesWritten
  const down0 = client.bytesWritten
  const close = (): void => {
    if (closed) return
    closed = true
    client.destroy()
    peer.destroy()
    done(peer.bytesWritten - up0, client.bytesWritten - down0)
  }
  for (const s of [client, peer]) {
    s.setTimeout(idleMs)
    s.on('timeout', close)
    s.on('error', close)
    s.on('close', close)
    s.resume()
  }
  client.pipe(peer)
  peer.pipe(client)
}
