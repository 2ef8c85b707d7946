/**
 * The load run's table: per design, the mean over rounds of requests/s, p50 and p99, the ratios the
 * project aims for, and the same as Markdown with the machine it ran on.
 */
import { readFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { availableParallelism, release } from 'node:os'
import type { WrkResult } from './wrk.js'

/** One measured wrk run, with the CPU other processes used meanwhile (noise.ts). */
export interface Run extends WrkResult {
  /** % of one CPU used by processes that are not ours during the run. */
  other: number
  /** CPU time (user + system) of the process under test per request, in microseconds. */
  cpuUs: number
}

export interface Summary {
  design: string
  rps: number
  /** Lowest and highest requests/s of the rounds, to show the noise. */
  rpsMin: number
  rpsMax: number
  p50: number
  p99: number
  /** Mean CPU microseconds per request of the process under test (the peer for "straight"). */
  cpuUs: number
  errors: number
  /** Highest CPU use of other processes in any round (% of one CPU). */
  other: number
}

export interface Target { what: string; value: number; goal: string; met: boolean }

export function summarise(design: string, runs: readonly Run[]): Summary {
  const mean = (f: (r: Run) => number): number => runs.reduce((a, r) => a + f(r), 0) / runs.length
  return {
    design,
    rps: mean((r) => r.rps),
    rpsMin: Math.min(...runs.map((r) => r.rps)),
    rpsMax: Math.max(...runs.map((r) => r.rps)),
    p50: mean((r) => r.p50),
    p99: mean((r) => r.p99),
    cpuUs: mean((r) => r.cpuUs),
    errors: runs.reduce((a, r) => a + r.errors, 0),
    other: Math.max(...runs.map((r) => r.other)),
  }
}

/** The ratios of the brief, by design name (straight, rawproxy, tcp-pipe, http-proxy). */
export function targets(rows: readonly Summary[]): Target[] {
  const by = (d: string): Summary => rows.find((r) => r.design === d)!
  const has = (d: string): boolean => rows.some((r) => r.design === d)
  // Issue 13: counting every exchange (metrics on) costs at most 3% of req/s, same run.
  const metrics: Target[] = has('rawproxy') && has('rawproxy-metrics')
    ? [{ what: 'req/s rawproxy-metrics / rawproxy', value: by('rawproxy-metrics').rps / by('rawproxy').rps, goal: '>= 0.97 (issue 13)', met: by('rawproxy-metrics').rps >= 0.97 * by('rawproxy').rps },
      { what: 'CPU/req rawproxy-metrics − rawproxy, µs', value: by('rawproxy-metrics').cpuUs - by('rawproxy').cpuUs, goal: '(info)', met: true }]
    : []
  // Issue 14: tracing armed but not matching costs nothing measurable; a traced request costs this much.
  if (has('rawproxy-metrics') && has('rawproxy-trace-armed')) {
    const m = by('rawproxy-metrics')
    const a = by('rawproxy-trace-armed')
    metrics.push({ what: 'req/s rawproxy-trace-armed / rawproxy-metrics', value: a.rps / m.rps, goal: '>= 0.97 (issue 14: within noise)', met: a.rps >= 0.97 * m.rps })
  }
  if (has('rawproxy-metrics') && has('rawproxy-trace-all')) {
    metrics.push({ what: 'CPU/req rawproxy-trace-all − rawproxy-metrics, µs', value: by('rawproxy-trace-all').cpuUs - by('rawproxy-metrics').cpuUs, goal: '(info: a traced request)', met: true })
  }
  if (has('rawproxy') && has('rawproxy-b')) {
    metrics.push({ what: 'req/s rawproxy / rawproxy-b', value: by('rawproxy').rps / by('rawproxy-b').rps, goal: '(info: A/B)', met: true })
  }
  // Issue 15: the access log on (the default) costs at most 5% of req/s.
  if (has('rawproxy') && has('rawproxy-log')) {
    metrics.push({ what: 'req/s rawproxy-log / rawproxy', value: by('rawproxy-log').rps / by('rawproxy').rps, goal: '>= 0.95 (issue 15)', met: by('rawproxy-log').rps >= 0.95 * by('rawproxy').rps },
      { what: 'CPU/req rawproxy-log − rawproxy, µs', value: by('rawproxy-log').cpuUs - by('rawproxy').cpuUs, goal: '(info)', met: true })
  }
  // A run of some designs only (BENCH_ONLY): the ratios that need the others are left out.
  if (!['rawproxy', 'tcp-pipe', 'http-proxy', 'straight'].every(has)) return metrics
  const raw = by('rawproxy')
  const pipe = by('tcp-pipe')
  const hp = by('http-proxy')
  const straight = by('straight')
  const bestProxy = Math.max(raw.rps, pipe.rps, hp.rps)
  const t = (what: string, value: number, goal: string, met: boolean): Target => ({ what, value, goal, met })
  return [
    t('req/s rawproxy / http-proxy', raw.rps / hp.rps, '>= 3.00', raw.rps / hp.rps >= 3),
    t('req/s rawproxy / tcp-pipe', raw.rps / pipe.rps, '>= 1.00 (issue 5)', raw.rps / pipe.rps >= 1),
    t('p99 rawproxy / tcp-pipe', raw.p99 / pipe.p99, '<= 1.00 (no worse)', raw.p99 <= pipe.p99),
    // The same comparison in CPU time per request, which a busy machine disturbs less than req/s.
    t('CPU/req rawproxy / tcp-pipe', raw.cpuUs / pipe.cpuUs, '(info: <= 1.00 matches the pipe)', raw.cpuUs / pipe.cpuUs <= 1),
    // Issue 3: balancing over three peers (round-robin, health state, pools per peer) costs little.
    // Issue 9: a route with headers, access, auth (cached) and rules, against one with none.
    ...(rows.some((r) => r.design === 'rawproxy-filters')
      ? [t('req/s rawproxy-filters / rawproxy', by('rawproxy-filters').rps / raw.rps, '(info: the filters\' cost)', true),
        t('CPU/req rawproxy-filters − rawproxy, µs', by('rawproxy-filters').cpuUs - raw.cpuUs, '(info)', true)] : []),
    ...(rows.some((r) => r.design === 'rawproxy-3peers')
      ? [t('req/s rawproxy-3peers / rawproxy', by('rawproxy-3peers').rps / raw.rps, '>= 0.95', by('rawproxy-3peers').rps >= 0.95 * raw.rps)] : []),
    ...metrics,
    // The peer must not be the bottleneck: the ceiling has to clear every proxy by a margin.
    // Issue 15: at least twice the fastest proxy, or the rows measure the peer.
    t('req/s straight / best proxy', straight.rps / bestProxy, '>= 2.00 (peer not the bottleneck)', straight.rps >= 2 * bestProxy),
  ]
}

const num = (n: number, d = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
const ms = (n: number): string => `${num(n, 3)} ms`

function cells(r: Summary, straight: number): string[] {
  return [r.design, num(r.rps), `${num(r.rpsMin)}–${num(r.rpsMax)}`, ms(r.p50), ms(r.p99), `${num(100 * r.rps / straight, 1)}%`, `${num(r.cpuUs, 1)} µs`, `${num(r.cpuUs * r.rps / 1e4)}%`,
    String(r.errors), `${num(r.other)}%`]
}

const HEADER = ['design', 'req/s (mean)', 'req/s range', 'p50', 'p99', 'of straight', 'CPU/req', 'CPU busy', 'errors', 'other CPU']

export function printTable(rows: readonly Summary[], ts: readonly Target[]): void {
  const straight = rows.find((r) => r.design === 'straight')?.rps ?? NaN
  const all = [HEADER, ...rows.map((r) => cells(r, straight))]
  const widths = HEADER.map((_, i) => Math.max(...all.map((c) => c[i].length)))
  for (const [k, c] of all.entries()) {
    console.log(c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  '))
    if (k === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  }
  console.log('')
  for (const t of ts) console.log(`${t.what.padEnd(30)} ${num(t.value, 2).padStart(6)}  target ${t.goal.padEnd(36)} ${t.met ? 'met' : 'MISSED'}`)
}

export interface Machine { date: string; nproc: number; cpu: string; node: string; kernel: string; wrk: string; commit: string }

export function machine(): Machine {
  let cpu = 'unknown'
  try { cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpu } catch { /* not Linux */ }
  let wrk = 'unknown'
  try {
    // wrk -v prints its banner and exits non-zero; the banner is what we want.
    wrk = execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    wrk = String((err as { stdout?: string }).stdout ?? '')
  }
  wrk = /^wrk \S+/.exec(wrk)?.[0] ?? 'wrk (version unknown)' // "wrk debian/4.1.0-3+b2 [epoll] Copyright..." 
  // Which code was measured: the commit, and whether src/ had changes not yet committed.
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    if (dirty !== '') commit += ' + uncommitted changes in src/'
  } catch { /* not a git checkout */ }
  return { date: new Date().toISOString(), nproc: availableParallelism(), cpu, node: process.version, kernel: release(), wrk, commit }
}

export interface Settings {
  rounds: number; seconds: number; warmup: number; connections: number; loadCpu: string; proxyCpu: string
  /** A run with other processes above this % of a CPU was run again, up to `retries` times. */
  maxOther: number; retries: number
}

export function markdown(rows: readonly Summary[], ts: readonly Target[], m: Machine, s: Settings, micro: string | null): string {
  const straight = rows.find((r) => r.design === 'straight')?.rps ?? NaN
  const line = (c: readonly string[]): string => `| ${c.join(' | ')} |`
  return [
    '# rawproxy benchmark results', '',
    `Written by \`make bench\` (bench/run.sh) on ${m.date}, code at ${m.commit}.`, '',
    `- machine: ${m.nproc} CPUs, ${m.cpu}, Linux ${m.kernel}`,
    `- node ${m.node}; ${m.wrk.trim()}`,
    `- load: wrk, 1 thread, ${s.connections} keep-alive connections, wrk's default request (GET / with Host only), ` +
      '12-byte response body from the peer (nginx, bench/load/nginx-peer.ts, unless BENCH_PEER=node); ' +
      `${s.rounds} rounds of each design in turn, ${s.warmup} s warm-up + ${s.seconds} s measured; ` +
      `wrk and the peer on CPU ${s.loadCpu}, the proxy under test on CPU ${s.proxyCpu}; ` +
      `a run during which other processes used over ${s.maxOther}% of a CPU was run again (up to ${s.retries} times)`, '',
    '### Load (loopback)', '',
    line(HEADER), `|${HEADER.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
    ...rows.map((r) => line(cells(r, straight))), '',
    line(['ratio', 'measured', 'target', '']), '|---|---:|---|---|',
    ...ts.map((t) => line([t.what, num(t.value, 2), t.goal, t.met ? 'met' : '**missed**'])), '',
    '"CPU/req": user + system CPU time of the process under test (the peer for straight) per request; ' +
      'it includes the kernel\'s socket work done in that process\'s system calls. "CPU busy" = CPU/req x req/s: near 100% ' +
      'the process under test is the bottleneck (for a proxy: not the peer, not wrk).', '',
    '"other CPU": the most CPU that processes other than the benchmark\'s own used during any round of that design ' +
      '(% of one CPU); above a few % the machine was shared and the row is noisy.', '',
    'Designs: **straight** = wrk to the peer (the ceiling); **rawproxy** = `node dist/src/cli.js`, access log off; ' +
    '**rawproxy-log** = the same with the access log on (JSON lines, the default format, to a file); ' +
    '**rawproxy-metrics** = the same with an admin listener (metrics counted for every exchange, not scraped); ' +
      '**rawproxy-trace-armed** = rawproxy-metrics with tracing armed for a path no request takes, and a `trace.header_from` list; ' +
      '**rawproxy-trace-all** = rawproxy-metrics tracing every request into the admin ring; ' +
      '**tcp-pipe** = a `net` server piping each client socket to its own peer socket (the floor cost of any Node proxy); ' +
      '**http-proxy** = `node:http` + the `http-proxy` package with a keep-alive `http.Agent`.', '',
    ...(micro === null ? [] : [micro]),
  ].join('\n')
}
