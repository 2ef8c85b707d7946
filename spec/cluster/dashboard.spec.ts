/**
 * The dashboard over a 2-worker cluster: the primary's sampler reads the whole group once a second
 * (one IPC round), so the stream's ticks count the requests of every worker, list both workers, and
 * show a peer drained in the primary as draining.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import { httpUpstream, HttpUpstream, deadPort, waitFor } from '../support/harness.js'
import { Started, getOnce, twoWorkers } from '../support/cluster.js'
import { BEARER, TOKEN, call } from '../support/admin.js'

const t = suite('cluster: the dashboard')
let a: HttpUpstream
const started = new Started()

t.before(async () => { a = await httpUpstream((_q, res) => res.end('from-a')) })
t.after.each(() => started.stopAll())
t.after(async () => { await a.close() })

interface Frame { tick: { rps: number; up: Record<string, { rps: number }> }; state: { workers: { worker: string }[] | null; upstreams: { peers: { peer: string; state: string }[] }[] } }

t('ticks add up every worker\'s requests, list the workers, and show a drained peer', async () => {
  const admin = await deadPort()
  const p = started.config(`${twoWorkers(a.port)}admin: { listen: "127.0.0.1:${admin}", token: ${TOKEN} }\n`)
  const port = await p.started()
  const frames: Frame[] = []
  const s = connect(admin, '127.0.0.1')
  let buf = ''
  s.on('data', (d) => {
    buf += d
    let end
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const m = /^event: tick\ndata: (.*)$/s.exec(buf.slice(0, end))
      buf = buf.slice(end + 2)
      if (m !== null) frames.push(JSON.parse(m[1]) as Frame)
    }
  })
  s.write(`GET /dashboard/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
  await waitFor(() => frames.length >= 1, 5000, 'a first tick')
  for (let i = 0; i < 8; i++) assert.match(await getOnce(port), /^HTTP\/1\.1 200 /)
  await waitFor(() => frames.reduce((n, f) => n + f.tick.rps, 0) >= 7.9, 5000, 'the requests in the ticks')
  const last = frames[frames.length - 1]
  assert.equal(last.state.workers?.map((w) => w.worker).sort(), ['1', '2'])
  const peer = `127.0.0.1:${a.port}`
  assert.is(last.state.upstreams[0].peers[0].state, 'up')
  assert.is((await call(admin, 'POST', `/upstreams/main/peers/${peer}/drain`, BEARER)).status, 200)
  const seen = frames.length
  await waitFor(() => frames.slice(seen).some((f) => f.state.upstreams[0].peers[0].state === 'draining'), 5000, 'the drained peer')
  s.destroy()
})

t.run()
