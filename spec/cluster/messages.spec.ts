import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { loadText } from '../../src/config/load.js'
import { fromWire, isToPrimary, isToWorker, peerKey, toWire } from '../../src/cluster/messages.js'

const t = suite('cluster messages')

const FULL = `
listen: ["127.0.0.1:8080", "[::1]:8080"]
trusted_proxies: [10.0.0.0/8]
via: edge
timeouts: { header: 5s, grace: 3s }
limits: { max_head: 8192, max_connections: 100 }
upstreams:
  api: { peers: ["10.0.0.1:80", "[fd00::1]:8080"], keepalive: { max_idle: 8, idle_timeout: 3s } }
  web: { peers: [] }
routes:
  - { host: "*.example.com", path: /api, upstream: api }
  - { upstream: web }
access_log: { path: stderr, format: text }
event_log: off
workers: 3
`

/** Where a value is not what JSON carries as it is (a Map, a Set, a Buffer, a class instance). */
function notPlain(v: unknown, path: string): string[] {
  if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return []
  if (Array.isArray(v)) return v.flatMap((x, i) => notPlain(x, `${path}[${i}]`))
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.entries(v as object).flatMap(([k, x]) => notPlain(x, `${path}.${k}`))
  }
  return [path]
}

t('a validated config crosses the JSON channel whole, Map of upstreams included', () => {
  for (const text of [FULL, 'upstreams: { u: { peers: ["127.0.0.1:1"] } }']) {
    const c = loadText(text)
    const back = fromWire(JSON.parse(JSON.stringify(toWire(c))))
    assert.equal(back, c)
    assert.instance(back.upstreams, Map)
    // A new Config field JSON cannot carry would be lost or mangled on its way to the workers.
    assert.equal(notPlain(toWire(c), 'config'), [], 'every field is plain JSON (else: toWire/fromWire)')
  }
})

t('messages are told apart from anything else on the channel', () => {
  assert.ok(isToWorker({ type: 'peer-state', group: 'g', peer: 'h:1', up: true }))
  assert.ok(isToPrimary({ type: 'hello' }))
  assert.not.ok(isToWorker({ type: 'hello' }))
  assert.not.ok(isToPrimary({ cmd: 'NODE_CLUSTER' }))
  assert.not.ok(isToPrimary(null))
  assert.not.ok(isToWorker('stop'))
  assert.is.not(peerKey({ group: 'a', peer: 'b:1' }), peerKey({ group: 'a:b', peer: '1' }))
})

t.run()
