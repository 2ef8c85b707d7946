/**
 * `rawproxy --demo` (what `make run` starts): two small upstreams on loopback and a config that routes
 * to them, so a fresh checkout has something to try.
 */
import { createServer, Server } from 'node:http'
import { validate } from './config/validate.js'
import type { Config } from './config/schema.js'

export const DEMO_PORTS = { proxy: 8080, a: 9101, b: 9102 }

function demoUpstream(name: string): Server {
  return createServer((req, res) => {
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

export function demoConfig(): Config {
  return validate({
    listen: [`127.0.0.1:${DEMO_PORTS.proxy}`],
    upstreams: {
      both: { peers: [`127.0.0.1:${DEMO_PORTS.a}`, `127.0.0.1:${DEMO_PORTS.b}`], health: { path: '/', interval: '2s' }, slow_start: '10s' },
      only_b: { peers: [`127.0.0.1:${DEMO_PORTS.b}`] },
    },
    routes: [
      { path: '/b', upstream: 'only_b' },
      { path: '/', upstream: 'both' },
    ],
    access_log: { path: 'stdout', format: 'text' },
  })
}

export const DEMO_HELP = `
rawproxy demo is running. Try:
  curl -i http://127.0.0.1:${DEMO_PORTS.proxy}/            # round-robin over upstream-a and upstream-b
  curl -i http://127.0.0.1:${DEMO_PORTS.proxy}/b/hello     # route /b goes to upstream-b only
  curl -i -d 'hello' http://127.0.0.1:${DEMO_PORTS.proxy}/post
  curl -i http://127.0.0.1:${DEMO_PORTS.proxy}/slow        # a 1 s answer
Press Ctrl-C to stop.
`
