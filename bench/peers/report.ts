/**
 * The bench-peers results as Markdown: the key cell with the ratios the project aims for, then one
 * table per measure with a row per cell and a column per design.
 */
import { KEY, Result, Results, cellLabel, fullMatrix, sameCell } from './matrix.js'

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
    `Written by \`make bench-peers\` (bench/peers/run.ts) on ${m.date}, code at ${m.commit}${r.cells.length < fullMatrix().length ? ` (a partial run: ${r.cells.length} of the ${fullMatrix().length} cells)` : ''}.`, '',
    `- machine: ${m.nproc} CPUs, ${m.cpu}, Linux ${m.kernel}; node ${m.node}; ${m.wrk.trim()}`,
    `- load: wrk, 1 thread, GET /SIZE (the peer answers SIZE body bytes); ${s.rounds} round(s), ${s.warmup} s warm-up + ${s.seconds} s measured ` +
      `per design and cell, designs in turns; wrk and the peer on CPU ${s.loadCpu}, the proxy alone on CPU ${s.proxyCpu}; ` +
      `a run during which other processes used over ${s.maxOther}% of a CPU was run again (up to ${s.retries} time(s))`,
    '- "new conn/req": wrk sends `Connection: close`, so every request opens a client connection; ' +
      'the proxies keep their upstream connections alive either way', '',
    'Designs (configs in `bench/peers/`):', '',
    ...r.designs.map((d) => `- **${d.name}**: ${d.about}${d.skipped === null ? '' : ` — **skipped**: ${d.skipped}`}`), '',
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
  for (const ms of MEASURES) {
    out.push(`## ${ms.title}`, '', ...(ms.note === '' ? [] : [`${ms.note}.`, '']),
      line(['cell', ...names]), rule(names.length + 1),
      ...r.cells.map((c) => line([cellLabel(c.cell), ...names.map((n) => (c.results[n] === undefined ? '–' : ms.cell(c.results[n], s.maxOther)))])), '')
  }
  return out.join('\n')
}
