/**
 * Does a 50 MB compressed response slow the other requests of the same rawproxy process? (issue 12:
 * it must not raise their p99 by more than a few ms, as zlib works in libuv's thread pool.) One
 * rawproxy process with `compress` (pinned to the proxy CPU, its zlib threads with it), a peer with a
 * 50 MB JSON body and a 1 KiB one; small requests at a fixed pace (200/s on 10 keep-alive
 * connections, each with Accept-Encoding: gzip, so they are coded too) for DURATION s alone, then for
 * DURATION s while 50 MB responses, gzip level 6, stream one after another to a client that reads as
 * fast as it can. Prints p50, p99 and max of the small requests in both phases.
 *
 *   flock /tmp/bench.lock node dist/bench/peers/compress-p99.js   (BENCH_DURATION, default 5 s; BENCH_CODING gzip|br;
 *   BENCH_P99_PIN=0: the proxy unpinned)
 */
import { Agent, get } from 'node:http'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, ready, start } from '../load/procs.js'
import { ROOT, envNumber, guard, pinning } from '../load/guard.js'

const SECONDS = envNumber('BENCH_DURATION', 5)
const CODING = process.env.BENCH_CODING ?? 'gzip'
const RATE = 200
/** BENCH_P99_PIN=0: the proxy not pinned, its zlib threads free to use the other CPU. */
const PIN = process.env.BENCH_P99_PIN !== '0'

function request(agent: Agent, port: number, path: string): Promise<number> {
  const t0 = performance.now()
  return new Promise((ok, fail) => {
    get({ host: '127.0.0.1', port, path, agent, headers: { 'Accept-Encoding': CODING } }, (res) => {
      let n = 0
      res.on('data', (d: Buffer) => { n += d.length })
      res.on('end', () => (res.statusCode === 200 && n > 0 ? ok(performance.now() - t0) : fail(new Error(`${path}: ${res.statusCode}, ${n} bytes`))))
    }).on('error', fail)
  })
}

/** Small requests at RATE/s for `seconds`; their latencies in ms. */
async function paced(port: number, seconds: number): Promise<number[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 10 })
  const out: number[] = []
  const pending: Promise<void>[] = []
  const t0 = performance.now()
  for (let i = 0; i < seconds * RATE; i++) {
    const due = t0 + (i * 1000) / RATE
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    pending.push(request(agent, port, '/small').then((ms) => { out.push(ms) }))
  }
  await Promise.all(pending)
  agent.destroy()
  return out
}

const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] }
const line = (label: string, xs: number[]): string => `${label.padEnd(28)} n=${xs.length}  p50 ${pct(xs, 50).toFixed(2)} ms  p99 ${pct(xs, 99).toFixed(2)} ms  max ${Math.max(...xs).toFixed(2)} ms`

async function main(dir: string): Promise<void> {
  const { loadCpu } = pinning()
  const proxyCpu = PIN ? pinning().proxyCpu : null
  const peerPort = await freePort()
  const peer = start('big-peer', loadCpu, process.execPath, [join(ROOT, 'dist/bench/peers/big-peer.js'), String(peerPort)], join(dir, 'peer.log'))
  await ready(peer, peerPort)
  const port = await freePort()
  const cfg = join(dir, 'rawproxy.yaml')
  writeFileSync(cfg, `listen: 127.0.0.1:${port}\naccess_log: off\nupstreams: { peer: { peers: [127.0.0.1:${peerPort}] } }\n` +
    'routes: [{ upstream: peer, compress: { min_length: 0 } }]\n')
  const px = start('rawproxy', proxyCpu, process.execPath, [join(ROOT, 'dist/src/cli.js'), '--config', cfg], join(dir, 'rawproxy.log'))
  await ready(px, port)
  await paced(port, 1) // warm-up
  const alone = await paced(port, SECONDS)
  let bigs = 0
  let busy = true
  const bigAgent = new Agent({ keepAlive: true, maxSockets: 1 })
  const big = (async () => { while (busy) { await request(bigAgent, port, '/big'); bigs++ } })()
  const t0 = performance.now()
  const during = await paced(port, SECONDS)
  busy = false
  await big
  const s = (performance.now() - t0) / 1000
  console.log(`rawproxy, compress ${CODING}; proxy on CPU ${proxyCpu ?? 'any'} (its zlib threads too), peer and clients on CPU ${loadCpu ?? 'any'}`)
  console.log(line('small requests alone', alone))
  console.log(line(`during ${bigs} x 50 MB (${(bigs * 50 / s).toFixed(0)} MB/s)`, during))
  console.log(`p99 rise: ${(pct(during, 99) - pct(alone, 99)).toFixed(2)} ms`)
  bigAgent.destroy()
}

const dir = mkdtempSync(join(tmpdir(), 'rawproxy-p99-'))
chmodSync(dir, 0o755)
guard('compress-p99', 4 * SECONDS + 120, dir, () => main(dir))
