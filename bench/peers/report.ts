/**
 * The bench-peers results as Markdown: the key cell with the ratios the project aims for, then one
 * table per measure with a row per cell and a column per design.
 */
import { CacheResults, KEY, Result, Results, cacheRowLabel, cellLabel, fullMatrix, sameCell, sizeLabel } from './matrix.js'

const num = (n: number, d = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
const line = (c: readonly string[]): string => `| ${c.join(' | ')} |`
const rule = (n: number): string => `|---|${'---:|'.repeat(n - 1)}`
const mib = (bytes: number): string => num(bytes / 2 ** 20, 1)

interface Measure { title: string; cell: (r: Result, maxOther: number) => string; note: string }

const MEASURES: readonly Measure[] = [
  {
    title: 'Requests/s',
    cell: (r, maxOther) => num(r.rps) + (r.errors > 0 ? ` (${num(r.errors)} err)` : '') + (r.other > maxOther ? ' ~' : ''),
    note: 'mean over rounds; "err": socket errors, timeouts (2 s) and non-2xx responses; "~": other processes used ' +
      'more than the noise limit of a CPU during that run even after a retry, so the figure is noisy',
  },
  { title: 'p50 latency (ms)', cell: (r) => num(r.p50, 3), note: '' },
  { title: 'p99 latency (ms)', cell: (r) => num(r.p99, 3), note: '' },
  { title: 'CPU per request (µs)', cell: (r) => num(r.cpuUs, 1), note: 'user + system CPU time of all the design\'s processes over the measured run, / requests (for straight: the peer\'s)' },
  { title: 'RSS (MiB)', cell: (r) => mib(r.rss), note: 'highest resident memory of all the design\'s processes during the measured run' },
]

/** rawproxy's requests/s, p99 and CPU per request against each other design in the key cell. */
function ratios(res: Record<string, Result>): string[] {
  const raw = res.rawproxy
  if (raw === undefined) return []
  const others = Object.values(res).filter((r) => r.design !== 'rawproxy' && r.design !== 'straight')
  if (others.length === 0) return []
  return [
    line(['rawproxy / …', 'req/s', 'p99', 'CPU per request']), rule(4),
    ...others.map((o) => line([o.design, `${num(raw.rps / o.rps, 2)}×`, `${num(raw.p99 / o.p99, 2)}×`, `${num(raw.cpuUs / o.cpuUs, 2)}×`])),
    '',
    'Targets (issue 5): req/s ≥ 0.90× nginx with p99 ≤ 1.5× nginx\'s; req/s ≥ 1.00× tcp-pipe.', '',
  ]
}

export function markdown(r: Results): string {
  const names = r.designs.filter((d) => d.skipped === null).map((d) => d.name)
  const s = r.settings
  const m = r.machine
  const key = r.cells.find((c) => sameCell(c.cell, KEY))
  const out = [
    '# rawproxy beside nginx, HAProxy and Caddy', '',
    `Written by \`make bench-peers\` (bench/peers/run.ts) on ${m.date}, code at ${m.commit}${r.cells.length === 0 ? ' (the cache section only)' : r.cells.length < fullMatrix().length ? ` (a partial run: ${r.cells.length} of the ${fullMatrix().length} cells)` : ''}` +
      `${r.cache === undefined ? ' (no cache section)' : ''}.`, '',
    `- machine: ${m.nproc} CPUs, ${m.cpu}, Linux ${m.kernel}; node ${m.node}; ${m.wrk.trim()}`,
    `- load: wrk, 1 thread, GET /SIZE (the peer answers SIZE body bytes); ${s.rounds} round(s), ${s.warmup} s warm-up + ${s.seconds} s measured ` +
      `per design and cell, designs in turns; wrk and the peer on CPU ${s.loadCpu}, the proxy alone on CPU ${s.proxyCpu}; ` +
      `a run during which other processes used over ${s.maxOther}% of a CPU was run again (up to ${s.retries} time(s))`,
    '- "new conn/req": wrk sends `Connection: close`, so every request opens a client connection; ' +
      'the proxies keep their upstream connections alive either way', '',
    ...(r.cells.length === 0 ? [] : ['Designs (configs in `bench/peers/`):', '',
      ...r.designs.map((d) => `- **${d.name}**: ${d.about}${d.skipped === null ? '' : ` — **skipped**: ${d.skipped}`}`), '']),
  ]
  if (key !== undefined) {
    out.push(`## Key cell: ${cellLabel(KEY)}`, '',
      line(['design', 'req/s', 'p50', 'p99', 'CPU/req', 'CPU busy', 'RSS', 'errors', 'other CPU']), rule(9),
      ...names.filter((n) => key.results[n] !== undefined).map((n) => {
        const x = key.results[n]
        return line([n, num(x.rps), `${num(x.p50, 3)} ms`, `${num(x.p99, 3)} ms`, `${num(x.cpuUs, 1)} µs`, `${num(x.cpuUs * x.rps / 1e4)}%`, `${mib(x.rss)} MiB`, num(x.errors), `${num(x.other)}%`])
      }), '', '"CPU busy" = CPU/req x req/s, in % of one CPU: near 100% the design is the bottleneck; well under it, ' +
        'something else is (wrk and the peer share one CPU, or other processes took the proxy\'s CPU).', '',
        '"other CPU": what processes other than the benchmark\'s own used meanwhile, in % of one CPU; ' +
        'above a few % the machine was shared and the row is noisy.', '', ...ratios(key.results))
  }
  for (const ms of r.cells.length === 0 ? [] : MEASURES) {
    out.push(`## ${ms.title}`, '', ...(ms.note === '' ? [] : [`${ms.note}.`, '']),
      line(['cell', ...names]), rule(names.length + 1),
      ...r.cells.map((c) => line([cellLabel(c.cell), ...names.map((n) => (c.results[n] === undefined ? '–' : ms.cell(c.results[n], s.maxOther)))])), '')
  }
  if (r.cache !== undefined) out.push(...cacheSection(r.cache, s.maxOther))
  return out.join('\n')
}

/** One ratio of the cache section: `a` over `b` in a row, with the target it is held to (or none). */
interface CacheRatio { kind: 'hit' | 'miss'; size: number; a: string; b: string; goal: string; met: (rps: number, p99: number) => boolean }

/** Issue 11's targets: hits at least nginx's req/s with a p99 no worse; the miss path within 10% of the plain proxy. */
export const CACHE_RATIOS: readonly CacheRatio[] = [
  ...[1024, 65536].flatMap((size): CacheRatio[] => [
    { kind: 'hit', size, a: 'rawproxy-cache', b: 'nginx-cache', goal: 'req/s ≥ 1.00×, p99 ≤ 1.00×', met: (rps, p99) => rps >= 1 && p99 <= 1 },
    { kind: 'hit', size, a: 'rawproxy-cache', b: 'varnish', goal: '(info)', met: () => true },
  ]),
  { kind: 'miss', size: 1024, a: 'rawproxy-cache', b: 'rawproxy', goal: 'req/s ≥ 0.90×', met: (rps) => rps >= 0.9 },
]

/** The "Cache" part of the report: every row and design, the ratios against the targets, and what was refused. */
export function cacheSection(c: CacheResults, maxOther: number): string[] {
  const out = [
    '## Cache', '',
    `Each cache design is its own process with its own store, on the proxy's CPU like the matrix's designs; wrk with ${c.connections} ` +
      'keep-alive connections. **hit** rows: GET /cache/SIZE, which the peer answers `Cache-Control: public, max-age=3600` with an ' +
      'ETag; each design is asked twice before its run and the second answer must say hit (rawproxy: `Cache-Status` with `hit`; ' +
      'nginx and Varnish: `X-Cache: HIT`), and once more after it, or its figure is refused. **miss** row: GET /nostore/1024, ' +
      'answered `Cache-Control: no-store`: every request is looked up, forwarded and not stored (checked the same way); ' +
      '**rawproxy** there is the plain proxy (no `cache` on its route), the base of the miss ratio.', '',
    'Designs:', '',
    ...c.designs.map((d) => `- **${d.name}**: ${d.about}${d.skipped === null ? '' : ` — **skipped**: ${d.skipped}`}`), '',
    line(['row', 'design', 'req/s', 'p50', 'p99', 'CPU/req', 'CPU busy', 'RSS', 'errors', 'other CPU']), `|---|---|${'---:|'.repeat(8)}`,
  ]
  for (const { row, results, refused } of c.rows) {
    for (const n of row.designs) {
      const x = results[n]
      if (x !== undefined) {
        out.push(line([cacheRowLabel(row), n, num(x.rps) + (x.other > maxOther ? ' ~' : ''), `${num(x.p50, 3)} ms`, `${num(x.p99, 3)} ms`,
          `${num(x.cpuUs, 1)} µs`, `${num(x.cpuUs * x.rps / 1e4)}%`, `${mib(x.rss)} MiB`, num(x.errors), `${num(x.other)}%`]))
      } else if (refused[n] !== undefined) {
        out.push(line([cacheRowLabel(row), n, '**refused**', '–', '–', '–', '–', '–', '–', '–']))
      }
    }
  }
  const seen = c.rows.flatMap(({ row, seen: s }) => Object.entries(s ?? {}).filter(([, v]) => v !== '').map(([n, v]) => `- ${cacheRowLabel(row)}, ${n}: \`${v}\``))
  if (seen.length > 0) out.push('', 'The checked answer before each run (its cache fields):', '', ...seen)
  out.push('', ...cacheRatios(c, maxOther), '',
    '"~" after req/s, and "noisy" after a verdict: other processes used more than the noise limit of a CPU during that run ' +
      'even after the retries; its req/s and p99 are then unreliable, and CPU per request is the figure to compare.')
  const refusals = c.rows.flatMap(({ row, refused }) => Object.entries(refused).map(([n, why]) => `- ${cacheRowLabel(row)}: **${n}** refused: ${why}`))
  if (refusals.length > 0) out.push('', 'Refused (the check before or after the run failed; no figure is reported):', '', ...refusals)
  out.push('')
  return out
}

/** The ratios of the cache section against issue 11's targets, as a Markdown table (run.ts prints it too). */
export function cacheRatios(c: CacheResults, maxOther: number): string[] {
  const out = [line(['ratio', 'req/s', 'p99', 'CPU/req', 'target (issue 11)', '']), '|---|---:|---:|---:|---|---|']
  for (const q of CACHE_RATIOS) {
    const res = c.rows.find((x) => x.row.kind === q.kind && x.row.size === q.size)?.results
    const a = res?.[q.a]
    const b = res?.[q.b]
    const label = `${q.kind} · ${sizeLabel(q.size)}: ${q.a} / ${q.b}`
    if (a === undefined || b === undefined) { out.push(line([label, '–', '–', '–', q.goal, 'not measured'])); continue }
    const rps = a.rps / b.rps
    const p99 = a.p99 / b.p99
    const noisy = a.other > maxOther || b.other > maxOther ? ' (noisy)' : ''
    out.push(line([label, `${num(rps, 2)}×`, `${num(p99, 2)}×`, `${num(a.cpuUs / b.cpuUs, 2)}×`, q.goal, ((q.goal === '(info)' ? '' : q.met(rps, p99) ? 'met' : '**missed**') + noisy).trim()]))
  }
  return out
}
