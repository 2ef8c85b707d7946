/**
 * GET /status's parts that one Server knows: its listeners, its routes, its upstreams and peers
 * (Group.status: state, counts, last probe), its requests.
 */
import type { Server } from '../server/server.js'
import type { Runtime } from '../proxy/runtime.js'
import type { Reloader } from '../reload.js'
import { VERSION } from './control-metrics.js'

export function serverStatus(s: Server): Record<string, unknown> {
  return {
    listeners: s.endpoints().map((ep) => ({ address: ep.label, tls: ep.tls, open: ep.open, accepted: ep.accepted })),
    requests: { total: s.requests, in_flight: s.requests - s.finished },
    connections: s.connections,
    ...routing(s.rt),
  }
}

/** Routes and upstreams (with each peer's health, admin state and counts) of a runtime. */
export function routing(rt: Runtime): Record<string, unknown> {
  return {
    routes: rt.config.routes.map((r) => ({ route: `${r.host ?? '*'}${r.path}`, upstream: r.upstream })),
    upstreams: rt.status(),
  }
}

/** The process's and the config's facts. */
export function processStatus(reloader: Reloader): Record<string, unknown> {
  return {
    version: VERSION,
    pid: process.pid,
    uptime_seconds: Math.round(process.uptime()),
    config: { loaded_at: new Date(reloader.lastGood).toISOString(), reloads_ok: reloader.ok, reloads_failed: reloader.failed },
  }
}
