/**
 * The families of the features on the filter chain, read from the counters each feature keeps for
 * the life of the process: rate-limit decisions per limit, rate-limit store faults and outages.
 * (Auth failures are counted per route with the requests: route-stats.ts.) A feature that lands
 * later adds its families here.
 */
import { DECISIONS, allDecisions } from '../filters/rate-limit/decisions.js'
import { storeFaults } from '../filters/rate-limit/stores.js'
import { collected, type Family, type Sample } from './registry.js'

export function featureFamilies(): Family[] {
  return [
    collected('rawproxy_rate_limit_decisions_total', 'counter', 'Rate-limit decisions per limit name: allowed, refused, delayed (delay mode), dry_run (would have refused).', ['limit', 'decision'], 'sum', () => {
      const out: Sample[] = []
      for (const [name, a] of allDecisions()) DECISIONS.forEach((d, i) => out.push({ labels: [name, d], value: a[i] }))
      return out
    }),
    collected('rawproxy_rate_limit_store_faults_total', 'counter', 'Rate-limit takes decided by on_error because the store could not answer.', ['store'], 'sum',
      () => storeFaults().map((s) => ({ labels: [s.store], value: s.faults }))),
    collected('rawproxy_rate_limit_store_outages_total', 'counter', 'Outages of a Redis rate-limit store (each logged once).', ['store'], 'sum',
      () => storeFaults().map((s) => ({ labels: [s.store], value: s.outages }))),
  ]
}
