/**
 * Micro benchmarks (tinybench): (a) parsing, (b) rebuilding the upstream head, (c) choosing a peer
 * (balance.ts: one op = ten picks, or ten pool take/release pairs), (d) the access lists (cidr.ts:
 * one op = ten lookups in a 100k-entry CidrTable; its load time is measured once, beside the table),
 * (e) the filter chain (filters.ts), (f) a traced request against the same not traced (trace.ts).
 * Every task does the work of the same ten requests per operation, so "per request" is comparable
 * across rows; the last column (groups a and b) is Node's parse time per request over the row's time
 * per request (above 1: less time than Node's parser takes to parse the same request).
 *
 *   node dist/bench/micro/run.js          env: BENCH_MICRO_MS (time per task, default 1500)
 *   BENCH_MICRO_MD=FILE                   also write the table as Markdown there (run.sh does)
 */
import { writeFileSync } from 'node:fs'
import { Bench, Task } from 'tinybench'
import { build } from '../../src/http/llhttp.js'
import { parseCases, Case } from './parse.js'
import { headCases } from './head.js'
import { pickCases, poolCase } from './balance.js'
import { loadCase, lookupCases } from './cidr.js'
import { COUNT, PIPELINED } from './requests.js'
import { filterCases } from './filters.js'
import { traceCases } from './trace.js'

const TIME_MS = Number(process.env.BENCH_MICRO_MS ?? 1500)

interface Row { group: string; name: string; opsPerSec: number; meanNs: number; perReqNs: number; rme: number }

function measure(group: string, cases: Case[]): Row[] {
  const bench = new Bench({ time: TIME_MS, warmupTime: Math.min(500, TIME_MS / 3) })
  for (const c of cases) bench.add(c.name, c.run)
  const tasks: Task[] = bench.runSync()
  return tasks.map((t) => {
    const r = t.result
    if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state === 'errored' ? r.error.stack : r.state}`)
    // ops/s from the mean time, so that ops/s, mean and the ratio all agree.
    const meanNs = r.latency.mean * 1e6
    return { group, name: t.name, opsPerSec: 1e9 / meanNs, meanNs, perReqNs: meanNs / COUNT, rme: r.latency.rme }
  })
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

async function main(): Promise<void> {
  const pool = await poolCase()
  const load = loadCase() // once, cold: what a config load or a reload pays
  const rows = [...measure('a: parse', parseCases()), ...measure('b: head rebuild', headCases()),
    ...measure('c: balance', [...pickCases(), ...pool.cases]), ...measure('d: access', lookupCases(load.table)),
    ...measure('e: filters', await filterCases()), ...measure('f: trace', traceCases())]
  pool.close()
  const base = rows[0].perReqNs // node:http parser
  const table = rows.map((r) => ({
    group: r.group,
    task: r.name,
    'ops/s': fmt(r.opsPerSec),
    'mean/op': `${fmt(r.meanNs / 1000, 2)} us ±${fmt(r.rme, 1)}%`,
    'per request': `${fmt(r.perReqNs)} ns`,
    'vs node parser': r.group.startsWith('a') || r.group.startsWith('b') ? `${fmt(base / r.perReqNs, 2)}x` : '—',
  }))
  const title = `micro: one op = ${COUNT} browser-like GETs (${PIPELINED.length} bytes pipelined); ` +
    `llhttp build: ${build}; node ${process.version}`
  const loaded = `access: a CidrTable of ${fmt(load.table.size)} random prefixes (IPv4, IPv6, mapped, nested) built in ${fmt(load.ms, 1)} ms (once, cold)`
  console.log(title)
  console.table(table)
  console.log(loaded)

  const out = process.env.BENCH_MICRO_MD
  if (out !== undefined && out !== '') {
    const cols = Object.keys(table[0]) as (keyof typeof table[0])[]
    const md = [
      `### Micro (tinybench, ${TIME_MS} ms per task)`, '',
      `One op = the same ${COUNT} browser-like GET requests (${PIPELINED.length} bytes); llhttp build: ${build}. ` +
        '"vs node parser" = Node\'s parse time per request / the row\'s time per request.', '',
      `| ${cols.join(' | ')} |`, `|${cols.map(() => '---').join('|')}|`,
      ...table.map((t) => `| ${cols.map((c) => t[c]).join(' | ')} |`), '', `${loaded[0].toUpperCase()}${loaded.slice(1)}.`, '',
    ].join('\n')
    writeFileSync(out, md)
  }
}

void main()
