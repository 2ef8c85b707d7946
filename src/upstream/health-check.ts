/**
 * Active health checks of one group: each peer is probed every `interval` (give or take `jitter`, so
 * that the probes of many peers and proxies do not fall in step), and each outcome is handed to the
 * group, which applies rise/fall. Probes run on their own connections and timers: request handling
 * never waits for them.
 */
import type { HealthCheck } from '../config/schema.js'
import type { Peer } from './peer.js'
import { HealthProbe } from './probe.js'

export type ProbeResult = (peer: Peer, ok: boolean, detail: string, ms: number) => void

export class HealthChecker {
  readonly #hc: HealthCheck
  readonly #peers: readonly Peer[]
  readonly #result: ProbeResult
  readonly #timers: NodeJS.Timeout[] = []
  #stopped = false

  constructor(hc: HealthCheck, peers: readonly Peer[], result: ProbeResult) {
    this.#hc = hc
    this.#peers = peers
    this.#result = result
  }

  /** Starts probing; the first probe of each peer comes within one jittered interval. */
  start(): void {
    this.#peers.forEach((p, i) => this.#schedule(p, i, this.#hc.interval * Math.random()))
  }

  stop(): void {
    this.#stopped = true
    for (const t of this.#timers) clearTimeout(t)
  }

  #schedule(p: Peer, i: number, ms: number): void {
    if (this.#stopped) return
    // unref: the probes alone must not keep a stopping process alive.
    this.#timers[i] = setTimeout(() => this.#probe(p, i), ms).unref()
  }

  #probe(p: Peer, i: number): void {
    const t0 = performance.now()
    new HealthProbe(p, this.#hc, (ok, detail) => {
      if (this.#stopped) return
      this.#result(p, ok, detail, performance.now() - t0)
      const j = this.#hc.jitter
      this.#schedule(p, i, this.#hc.interval * (1 - j + 2 * j * Math.random()))
    })
  }
}
