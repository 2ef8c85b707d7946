/**
 * The families of the features on the filter chain, read from the counters each feature keeps for
 * the life of the process: rate-limit decisions per limit, rate-limit store faults and outages, the
 * cache's zones (entries, bytes, evictions, faults), compression by operation.
 * (Auth failures are counted per route with the requests: route-stats.ts.) A feature that lands
 * later adds its families here.
 */
import { DECISIONS, allDecisions } from '../filters/rate-limit/decisions.js'
import { storeFaults } from '../filters/rate-limit/stores.js'
import { OUTCOMES, zoneStats } from '../filters/cache/stores.js'
import { OPS, bytesIn, bytesOut, failures, responses } from '../filters/compress/stats.js'
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
    ...cacheFamilies(),
    ...compressFamilies(),
  ]
}

/** Compression's counters (filters/compress/stats.ts), one family per figure, by operation. */
function compressFamilies(): Family[] {
  const byOp = (name: string, help: string, a: Float64Array): Family =>
    collected(name, 'counter', help, ['op'], 'sum', () => OPS.map((op, i) => ({ labels: [op], value: a[i] })))
  return [
    byOp('rawproxy_compress_responses_total', 'Responses coded (gzip, br), decoded (gunzip), or served from a kept coded copy of a cache hit (copy).', responses),
    byOp('rawproxy_compress_input_bytes_total', 'Content bytes that went into zlib.', bytesIn),
    byOp('rawproxy_compress_output_bytes_total', 'Content bytes that came out of zlib (or of a kept copy).', bytesOut),
    byOp('rawproxy_compress_failures_total', 'Codings that failed (a peer\'s broken gzip); the client was cut.', failures),
  ]
}

/** One family per figure of the cache's zones (filters/cache/stores.ts). */
function cacheFamilies(): Family[] {
  const zone = (name: string, kind: 'gauge' | 'counter', help: string, value: (z: ReturnType<typeof zoneStats>[number]) => number): Family =>
    collected(name, kind, help, ['zone'], 'sum', () => zoneStats().map((z) => ({ labels: [z.zone], value: value(z) })))
  return [
    zone('rawproxy_cache_entries', 'gauge', 'Responses stored in a cache zone.', (z) => z.entries),
    zone('rawproxy_cache_stored_bytes', 'gauge', 'Bytes stored in a cache zone.', (z) => z.bytes),
    zone('rawproxy_cache_evictions_total', 'counter', 'Entries evicted from a cache zone to stay within its size.', (z) => z.evicted),
    zone('rawproxy_cache_faults_total', 'counter', 'Cache store reads or writes that failed (each a miss, or an entry not stored).', (z) => z.faults),
    collected('rawproxy_cache_responses_total', 'counter', 'Responses of caching routes by what the cache did (Cache-Status): hit, stale (served stale), revalidated (a 304 from the peer), uri-miss, vary-miss, request, bypass, method; collapsed and stored are counted besides.',
      ['zone', 'outcome'], 'sum', () => zoneStats().flatMap((z) => OUTCOMES.map((o, i) => ({ labels: [z.zone, o], value: z.outcomes[i] })))),
  ]
}
