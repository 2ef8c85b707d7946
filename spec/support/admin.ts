/**
 * Test support for spec/admin: a proxy in this process with its admin API (both on 127.0.0.1:0), its
 * config in a file so that POST /reload has one to read, raw calls to the API, and samples read back
 * from the Prometheus text.
 */
import { writeFileSync } from 'node:fs'
import { Server } from '../../src/server/server.js'
import { loadFile } from '../../src/config/load.js'
import { EventLog } from '../../src/log/events.js'
import { FILTERS, afterReload } from '../../src/filters/index.js'
import { Reloader } from '../../src/reload.js'
import { Admin } from '../../src/admin/api.js'
import { SingleHost } from '../../src/admin/single.js'
import { raw, tempFile } from './harness.js'

export const TOKEN = 'spec-token-0123456789abcdef'
export const BEARER = { Authorization: `Bearer ${TOKEN}` }

export interface AdminProxy {
  server: Server
  admin: Admin
  reloader: Reloader
  events: EventLog
  /** The proxy's port and the admin API's. */
  port: number
  adminPort: number
  /** The config file: rewrite it (write()) and POST /reload. */
  file: string
  write(cfg: Record<string, unknown>): void
  close(): Promise<void>
}

function yaml(cfg: Record<string, unknown>): string {
  // JSON is YAML: the file is the raw config as the loader reads it.
  return JSON.stringify({ listen: ['127.0.0.1:0'], access_log: 'off', event_log: 'off', admin: { listen: '127.0.0.1:0', token: TOKEN }, ...cfg })
}

/** A proxy with `cfg` (raw, without listen; `admin` defaults to loopback port 0 with TOKEN). */
export async function adminProxy(cfg: Record<string, unknown>): Promise<AdminProxy> {
  const file = tempFile('admin.yaml')
  writeFileSync(file, yaml(cfg))
  const config = loadFile(file)
  const events = new EventLog({ path: 'off', format: 'text' })
  const server = new Server(config, events, { filters: FILTERS })
  await server.listen()
  const reloader = new Reloader((next) => server.reload(next).then(() => afterReload(next)), events, file)
  const admin = await Admin.follow(config, new SingleHost(server, reloader, 'llhttp spec'), events, reloader)
  return {
    server, admin, reloader, events, file,
    port: server.addresses()[0].port,
    adminPort: admin.port,
    write: (c) => writeFileSync(file, yaml(c)),
    close: async () => { await server.close(200); await admin.close() },
  }
}

export interface Answer {
  status: number
  head: string
  body: string
}

/** One call to the admin API on its own connection (it answers and closes). */
export async function call(port: number, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  const fields = Object.entries({ Host: `127.0.0.1:${port}`, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('')
  const r = await raw(port, `${method} ${path} HTTP/1.1\r\n${fields}\r\n`, { ms: 5000 })
  const end = r.text.indexOf('\r\n\r\n')
  return { status: Number(r.text.slice(9, 12)), head: r.text.slice(0, end), body: Buffer.from(r.text.slice(end + 4), 'latin1').toString('utf8') }
}

/** GET /metrics with the token: the Prometheus text. */
export async function scrape(port: number): Promise<string> {
  const a = await call(port, 'GET', '/metrics', BEARER)
  if (a.status !== 200) throw new Error(`GET /metrics: ${a.status} ${a.body}`)
  return a.body
}

/**
 * The value of the sample `name{labels}` (the labels given must all match; others may be there), or
 * undefined when there is none.
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(\{(.*)\})? (\S+)$/.exec(line)
    if (m === null || m[1] !== name) continue
    const have = new Map([...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]))
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) return Number(m[4])
  }
  return undefined
}
