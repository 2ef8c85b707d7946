import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { loadText } from '../../src/config/load.js'
import { fromWire, isToPrimary, isToWorker, peerKey, toWire } from '../../src/cluster/messages.js'

const t = suite('cluster messages')

const FULL = `
listen: ["127.0.0.1:8080", "[::1]:8080", { address: "127.0.0.1:8081", access: { deny: [192.0.2.0/24] }, proxy_protocol: true }]
trusted_proxies: [10.0.0.0/8]
defaults:
  headers: { request_id: true, request: { set: { X-Env: "{host} {env.HOME}" }, remove: [x-debug] }, response: { add: { X-Peer: "{upstream_peer}" } } }
  access: { allow: [10.0.0.0/8, "2001:db8::/32"], default: deny }
  max_body: 1m
via: edge
timeouts: { header: 5s, grace: 3s }
limits: { max_head: 8192, max_connections: 100 }
upstreams:
  api: { peers: ["10.0.0.1:80", "[fd00::1]:8080"], keepalive: { max_idle: 8, idle_timeout: 3s } }
  web: { peers: [] }
routes:
  - { host: "*.example.com", path: /api, upstream: api, methods: [GET], max_headers: 50, auth: { realm: r, users: { u: "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=" } } }
  - upstream: web
    access: false
    rules: [{ match: { path_glob: "/**.env", headers: { x-a: { regex: "^b" } }, query: { q: true } }, deny: 404 }, { redirect: "https://{host}{uri}", status: 308 }]
access_log: { path: stderr, format: text }
event_log: off
workers: 3
trace: { all: true, header_from: [127.0.0.1/32] }
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
  assert.ok(isToWorker({ type: 'trace-arm', id: 1, count: 2, route: '', path: '' }))
  assert.ok(isToWorker({ type: 'trace-disarm', id: 1 }))
  assert.ok(isToPrimary({ type: 'trace', record: {}, arm: 0 }))
  assert.not.ok(isToWorker({ type: 'hello' }))
  assert.not.ok(isToPrimary({ cmd: 'NODE_CLUSTER' }))
  assert.not.ok(isToPrimary(null))
  assert.not.ok(isToWorker('stop'))
  assert.is.not(peerKey({ group: 'a', peer: 'b:1' }), peerKey({ group: 'a:b', peer: '1' }))
})

t.run()
