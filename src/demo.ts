/**
 * `rawproxy --demo` (what `make run` starts): two small upstreams on loopback and a config that routes
 * to them, so a fresh checkout has something to try.
 */
import { createServer, Server } from 'node:http'
import { createHash, randomBytes } from 'node:crypto'
import { validate } from './config/validate.js'
import type { Config } from './config/schema.js'

export const DEMO_PORTS = { proxy: 8080, a: 9101, b: 9102, admin: 9901 }

/** The admin API's token: a new one each run, printed in the help (none is committed). */
const DEMO_TOKEN = randomBytes(18).toString('base64url')

function demoUpstream(name: string): Server {
  return createServer((req, res) => {
    if (req.url?.startsWith('/cached')) {
      // Cacheable for 10 s, then served stale for up to 60 s while it is refreshed behind.
      res.setHeader('cache-control', 'max-age=10, stale-while-revalidate=60')
      res.setHeader('etag', `"${name}-${Math.floor(Date.now() / 10_000)}"`)
    }
    if (req.url?.startsWith('/slow')) {
      setTimeout(() => res.end(`${name}: slow\n`), 1000)
      return
    }
    let n = 0
    req.on('data', (d: Buffer) => { n += d.length })
    req.on('end', () => {
      res.setHeader('content-type', 'text/plain')
      res.end(`${name}: ${req.method} ${req.url} (${n} body bytes) via ${req.headers['via'] ?? '-'} for ${req.headers['x-forwarded-for'] ?? '-'}\n`)
    })
  })
}

export async function startDemoUpstreams(): Promise<Server[]> {
  const servers = [demoUpstream('upstream-a'), demoUpstream('upstream-b')]
  const ports = [DEMO_PORTS.a, DEMO_PORTS.b]
  await Promise.all(servers.map((s, i) => new Promise<void>((resolve, reject) => {
    s.once('error', reject)
    s.listen(ports[i], '127.0.0.1', resolve)
  })))
  return servers
}

/** The demo user's password, hashed at start as `{SSHA}` (a fresh salt each run; no hash is committed). */
function ssha(password: string): string {
  const salt = randomBytes(8)
  return `{SSHA}${Buffer.concat([createHash('sha1').update(password).update(salt).digest(), salt]).toString('base64')}`
}

export function demoConfig(): Config {
  return validate({
    listen: [`127.0.0.1:${DEMO_PORTS.proxy}`],
    upstreams: {
      both: { peers: [`127.0.0.1:${DEMO_PORTS.a}`, `127.0.0.1:${DEMO_PORTS.b}`], health: { path: '/', interval: '2s' }, slow_start: '10s' },
      only_b: { peers: [`127.0.0.1:${DEMO_PORTS.b}`] },
    },
    // Every route: a request ID (sent upstream, echoed, logged) and one security header.
    defaults: { headers: { request_id: true, response: { set: { 'X-Content-Type-Options': 'nosniff' } } } },
    routes: [
      { path: '/b', upstream: 'only_b' },
      // Five at once, then one a second per client; every answer tells how many are left.
      { path: '/cached', upstream: 'both', cache: { purge: { allow: ['127.0.0.1/32'] } } },
      { path: '/limited', upstream: 'both', rate_limit: { headers: true, limits: [{ name: 'demo', key: 'client_ip', rate: '1/s', burst: 4 }] } },
      { path: '/admin', upstream: 'only_b', auth: { realm: 'rawproxy demo', users: { demo: ssha('demo') } } },
      {
        path: '/', upstream: 'both', methods: ['GET', 'POST'], max_body: '1m',
        rules: [
          { match: { path: '/healthz' }, respond: 200, body: 'ok\n' },
          { match: { path: '/old' }, redirect: '/b{path}', status: 301 },
          { match: { path_glob: '/**.env' }, deny: 404 },
        ],
      },
    ],
    access_log: { path: 'stdout', format: 'text' },
    // The admin API and the metrics (docs/admin.md): loopback only, state changes with the token.
    admin: { listen: `127.0.0.1:${DEMO_PORTS.admin}`, token: DEMO_TOKEN },
  })
}

export const DEMO_HELP = `
rawproxy demo is running. Try:
  curl -i http://127.0.0.1:${DEMO_PORTS.proxy}/            # round-robin over upstream-a and upstream-b
  curl -i http://127.0.0.1:${DEMO_PORTS.proxy}/b/hello     # route /b goes to upstream-b only
  curl -i -d 'hello' http://127.0.0.1:${DEMO_PORTS.proxy}/post
  curl -i http://127.0.0.1:${DEMO_PORTS.proxy}/slow        # a 1 s answer
  curl -i http://127.0.0.1:${DEMO_PORTS.proxy}/cached      # Cache-Status: a miss, then hits with Age; curl -X PURGE ... drops it
  curl -i http://127.0.0.1:${DEMO_PORTS.proxy}/limited     # RateLimit fields; the 6th in a second gets 429
  curl -i http://127.0.0.1:${DEMO_PORTS.proxy}/admin       # 401; then: curl -i -u demo:demo ...
  curl -i http://127.0.0.1:${DEMO_PORTS.proxy}/healthz     # answered by a rule; /old/x redirects, /x/.env is 404
  curl -i -X DELETE http://127.0.0.1:${DEMO_PORTS.proxy}/  # 405, with Allow
The admin dashboard (live charts, peers with drain/enable buttons, events), in a browser:
  http://127.0.0.1:${DEMO_PORTS.admin}/#token=${DEMO_TOKEN}
  and the trace page: http://127.0.0.1:${DEMO_PORTS.admin}/trace#token=${DEMO_TOKEN}
The admin API (docs/admin.md) on 127.0.0.1:${DEMO_PORTS.admin}, token ${DEMO_TOKEN}:
  curl -H 'Authorization: Bearer ${DEMO_TOKEN}' http://127.0.0.1:${DEMO_PORTS.admin}/metrics
  curl -H 'Authorization: Bearer ${DEMO_TOKEN}' http://127.0.0.1:${DEMO_PORTS.admin}/status
  curl -X POST -H 'Authorization: Bearer ${DEMO_TOKEN}' http://127.0.0.1:${DEMO_PORTS.admin}/upstreams/both/peers/127.0.0.1:${DEMO_PORTS.a}/drain
  curl -N -H 'Authorization: Bearer ${DEMO_TOKEN}' http://127.0.0.1:${DEMO_PORTS.admin}/events
Press Ctrl-C to stop.
`
