// A tunnel whose one side has sent its FIN gives the other HALF_CLOSED_MS of silence, not the whole
// tunnel_idle, to end too: a peer that never answers a FIN cannot hold the tunnel (and a max_inflight
// place) for five minutes after the client left.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect, Socket, AddressInfo } from 'node:net'
import { Tunnel } from '../../src/proxy/tunnel.js'
import { waitFor } from '../support/harness.js'

const t = suite('proxy: tunnel half-closed')

/** Two connected socket pairs on loopback: [our client side, the far client], [our peer side, the far peer]. */
async function pair(): Promise<[Socket, Socket, () => void]> {
  const srv = createServer({ allowHalfOpen: true })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const accepted = new Promise<Socket>((r) => srv.once('connection', r))
  const far = connect({ port: (srv.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true })
  const near = await accepted
  return [near, far, () => srv.close()]
}

t('after the client\'s FIN both sides get the shorter timeout; an idle tunnel keeps the long one', async () => {
  const [client, farClient, stop1] = await pair()
  const [peer, farPeer, stop2] = await pair()
  let closed = false
  try {
    new Tunnel(client, peer, 300_000, { tunnelClosed: () => { closed = true } })
    assert.is(client.timeout, 300_000)
    assert.is(peer.timeout, 300_000)
    farClient.end() // the client's FIN; the far peer never answers it
    await waitFor(() => client.timeout === 10_000, 2000, 'the half-closed timeout')
    assert.is(peer.timeout, 10_000)
    assert.is(closed, false)
  } finally {
    for (const s of [farClient, farPeer, client, peer]) s.destroy()
    stop1(); stop2()
  }
})

t.run()
