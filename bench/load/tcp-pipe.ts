/**
 * The floor cost of any Node proxy: each client socket is piped to a new socket to the peer and
 * back, with no HTTP parsing at all.
 *
 *   node dist/bench/load/tcp-pipe.js LISTEN_PORT PEER_PORT
 */
import { connect, createServer, Socket } from 'node:net'

const [port, peerPort] = process.argv.slice(2).map(Number)

function pipe(client: Socket): void {
  const peer = connect({ host: '127.0.0.1', port: peerPort, noDelay: true })
  client.setNoDelay(true)
  client.pipe(peer).pipe(client)
  // Either side failing ends both; pipe() alone would leave the other open.
  client.on('error', () => peer.destroy())
  peer.on('error', () => client.destroy())
  client.on('close', () => peer.destroy())
  peer.on('close', () => client.destroy())
}

createServer({ noDelay: true }, pipe).listen({ host: '127.0.0.1', port, backlog: 1024 })
process.on('SIGTERM', () => process.exit(0))
