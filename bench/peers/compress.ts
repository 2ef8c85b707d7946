/**
 * The compression rows of `make bench-peers` (issue 12): a 64 KiB JSON response (bench/peers/json-peer.ts)
 * compressed by rawproxy and by nginx `gzip on` at the same level, gzip 1 and 6, and by rawproxy with
 * brotli 4 (Debian's nginx has no brotli module). wrk, 50 keep-alive connections, one run per row;
 * req/s, p99 and CPU time per response of the proxy's process group, and its ratio to nginx's.
 *
 *   run.ts calls compressRows() after the matrix (BENCH_COMPRESS=0 leaves them out);
 *   alone: node dist/bench/peers/compress.js (BENCH_DURATION, BENCH_WARMUP as run.ts)
 */
import { get } from 'node:http'
import { mkdirSync, mkdtempSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Proc, freePort, ready, start, tail } from '../load/procs.js'
import { ROOT, envNumber, guard, pinning } from '../load/guard.js'
import { wrk } from '../load/wrk.js'
import { groupCpu } from './group.js'
import { fill, which } from './designs.js'

export interface CompressRow {
  variant: string
  design: string
  rps: number
  p99: number
  /** Proxy CPU time per response, µs. */
  cpuUs: number
  /** Bytes of the compressed body. */
  bytes: number
  errors: number
}

interface Options { dir: string; loadCpu: number | null; proxyCpu: number | null; seconds: number; warmup: number }

const VARIANTS = [
  { name: 'gzip 1', path: '/gzip1/x', ae: 'gzip', nginx: true },
  { name: 'gzip 6', path: '/gzip6/x', ae: 'gzip', nginx: true },
  { name: 'br 4', path: '/br4/x', ae: 'br', nginx: false },
]

/** One request: the coding the design answered with and the body's size, or an error. */
function probe(port: number, path: string, ae: string): Promise<{ coding: string; bytes: number }> {
  return new Promise((ok, fail) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false, timeout: 5000, headers: { 'Accept-Encoding': ae } }, (res) => {
      let n = 0
      res.on('data', (d: Buffer) => { n += d.length }).on('end', () => ok({ coding: String(res.headers['content-encoding'] ?? 'identity'), bytes: n }))
    })
    req.on('timeout', () => req.destroy(new Error('no answer in 5 s')))
    req.on('error', fail)
  })
}

/** Runs every row; the processes it starts are stopped by the caller's guard (procs registry). */
export async function compressRows(o: Options): Promise<CompressRow[]> {
  const peerPort = await freePort()
  const peer = start('json-peer', o.loadCpu, process.execPath, [join(ROOT, 'dist/bench/peers/json-peer.js'), String(peerPort)], join(o.dir, 'json-peer.log'))
  await ready(peer, peerPort)
  const ctx = (port: number) => ({ port, peerPort, dir: o.dir, cpu: o.proxyCpu })
  const designs: { name: string; port: number; proc: Proc }[] = []
  const rp = await freePort()
  designs.push({ name: 'rawproxy', port: rp, proc: start('rawproxy-compress', o.proxyCpu, process.execPath, [join(ROOT, 'dist/src/cli.js'), '--config', fill('rawproxy-compress.yaml', ctx(rp))], join(o.dir, 'rawproxy-compress.log')) })
  const nginx = which('nginx')
  if (nginx === null) console.log('compress: nginx is not installed: rawproxy rows only')
  else {
    const np = await freePort()
    designs.push({ name: 'nginx', port: np, proc: start('nginx-compress', o.proxyCpu, nginx, ['-p', o.dir, '-c', fill('nginx-compress.conf', ctx(np)), '-e', join(o.dir, 'nginx-compress-error.log')], join(o.dir, 'nginx-compress.log')) })
  }
  for (const d of designs) {
    try { await ready(d.proc, d.port) } catch (err) { throw new Error(`compress: ${d.name} did not start: ${(err as Error).message}\n${tail(d.proc)}`) }
  }
  const rows: CompressRow[] = []
  for (const v of VARIANTS) {
    for (const d of designs) {
      if (d.name === 'nginx' && !v.nginx) continue
      const p = await probe(d.port, v.path, v.ae)
      if (p.coding !== v.ae) throw new Error(`compress: ${d.name} answered ${v.path} with ${p.coding}, not ${v.ae}`)
      const load = (seconds: number) => wrk({ url: `http://127.0.0.1:${d.port}${v.path}`, seconds, connections: 50, cpu: o.loadCpu, headers: [`Accept-Encoding: ${v.ae}`] })
      if (o.warmup > 0) await load(o.warmup)
      const pgid = d.proc.child.pid!
      const cpu0 = groupCpu(pgid)
      const r = await load(o.seconds)
      const cpu = groupCpu(pgid) - cpu0
      const row = { variant: v.name, design: d.name, rps: r.rps, p99: r.p99, cpuUs: r.requests > 0 ? (cpu / r.requests) * 1e6 : 0, bytes: p.bytes, errors: r.errors }
      console.log(`  ${v.name.padEnd(7)} ${d.name.padEnd(9)} ${row.rps.toFixed(0).padStart(7)} req/s  p99 ${row.p99.toFixed(2).padStart(7)} ms  CPU ${row.cpuUs.toFixed(0).padStart(6)} µs/resp  ${row.bytes} B${row.errors > 0 ? `  ${row.errors} errors` : ''}`)
      rows.push(row)
    }
  }
  return rows
}

/** The rows as a Markdown table, with rawproxy's CPU per response against nginx's at the same level. */
export function compressMarkdown(rows: CompressRow[], note: string): string {
  const out = ['## Compression: 64 KiB JSON, 50 keep-alive connections', '', note, '',
    '| coding | design | req/s | p99 ms | CPU µs/resp | CPU vs nginx | body bytes |', '|---|---|---:|---:|---:|---:|---:|']
  for (const r of rows) {
    const n = rows.find((x) => x.variant === r.variant && x.design === 'nginx')
    const ratio = n === undefined || r.design === 'nginx' ? (r.design === 'nginx' ? '1.00x' : 'n/a (no brotli in nginx)') : `${(r.cpuUs / n.cpuUs).toFixed(2)}x`
    out.push(`| ${r.variant} | ${r.design} | ${r.rps.toFixed(0)} | ${r.p99.toFixed(2)} | ${r.cpuUs.toFixed(0)} | ${ratio} | ${r.bytes} |`)
  }
  return `${out.join('\n')}\n`
}

/** Writes the table next to the matrix's results (a partial run: under tmp/). */
export function writeCompress(rows: CompressRow[], whole: boolean, note: string): string {
  const file = join(ROOT, whole ? 'bench/results/compress-latest.md' : 'bench/results/tmp/compress-partial.md')
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, compressMarkdown(rows, note))
  return file
}

if (process.argv[1]?.endsWith('compress.js')) {
  const dir = mkdtempSync(join(tmpdir(), 'rawproxy-compress-'))
  chmodSync(dir, 0o755)
  const { loadCpu, proxyCpu } = pinning()
  const seconds = envNumber('BENCH_DURATION', 3)
  const warmup = envNumber('BENCH_WARMUP', 1)
  guard('compress', 3 * 2 * (seconds + warmup + 10) + 60, dir, async () => {
    const rows = await compressRows({ dir, loadCpu, proxyCpu, seconds, warmup })
    const file = writeCompress(rows, true, `One run, ${seconds} s each after ${warmup} s of warm-up; wrk and the peer on CPU ${loadCpu ?? 'any'}, the proxy on CPU ${proxyCpu ?? 'any'}.`)
    console.log(`written: ${file}`)
  })
}
