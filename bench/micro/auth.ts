/**
 * Basic authentication's costs (src/filters/auth/): what one verification costs per stored format,
 * through the Verifier (so bcrypt and apr1 include the worker round trip), what a cache hit and
 * decoding the Authorization value cost, and the raw synchronous bcrypt of the native package against
 * bcryptjs, the record behind the choice in verify.ts. Stands alone:
 *
 *   node dist/bench/micro/auth.js        env: BENCH_AUTH_MS (time per row, default 2000)
 *
 * "queued" keeps 32 verifications in flight (the worker never waits for the loop): the most the one
 * worker can do per second. "one by one" awaits each before the next: per-request latency, round trip
 * included. Each of those is the best of 3 windows, the sync rows give tinybench's median, and the
 * raw rows alternate the two packages in rounds and keep each one's best round: on a shared 2-core
 * machine another process's burst then lands on one window, not on one side of the comparison.
 * bcryptjs is measured only when it is installed (npm install --no-save bcryptjs).
 */
import { Bench } from 'tinybench'
import { hashSync } from 'bcrypt'
import { createHash, randomBytes } from 'node:crypto'
import { Verifier } from '../../src/filters/auth/verify.js'
import { parseHash, Credential } from '../../src/config/htpasswd.js'
import { CredentialCache } from '../../src/filters/auth/cache.js'
import { decodeBasic } from '../../src/filters/auth/basic.js'
import { apr1Digest } from '../../src/filters/auth/apr1.js'

const TIME_MS = Number(process.env.BENCH_AUTH_MS ?? 2000)
const PASSWORD = 'correct horse battery staple'

/** meanUs: the time of one op as the row measures it (see the header: best window, median, best round). */
interface Row { what: string; opsPerSec: number; meanUs: number }

function bcryptHash(cost: number): string {
  return hashSync(PASSWORD, `$2b$${String(cost).padStart(2, '0')}$${'abcdefghijklmnopqrstuu'}`).replace('$2b$', '$2y$')
}

const APR1_SALT = 'Zq8.3Bx/'
const CREDS: [string, Credential][] = [
  ['bcrypt cost 5 (htpasswd -B)', parseHash(bcryptHash(5), 'b5')],
  ['bcrypt cost 10', parseHash(bcryptHash(10), 'b10')],
  ['apr1 (htpasswd -m)', parseHash(`$apr1$${APR1_SALT}$${apr1Digest(Buffer.from(PASSWORD), APR1_SALT)}`, 'apr1')],
  ['{SHA} (htpasswd -s)', parseHash(`{SHA}${createHash('sha1').update(PASSWORD).digest('base64')}`, 'sha')],
  ['{SSHA}', (() => {
    const salt = randomBytes(8)
    return parseHash(`{SSHA}${Buffer.concat([createHash('sha1').update(PASSWORD).update(salt).digest(), salt]).toString('base64')}`, 'ssha')
  })()],
]

/** Verifications per second with `depth` in flight: the best of 3 windows of TIME_MS / 3. */
async function through(v: Verifier, cred: Credential, depth: number): Promise<Row> {
  let best = 0
  for (let w = 0; w < 3; w++) {
    const end = performance.now() + TIME_MS / 3
    let done = 0
    const lane = async (): Promise<void> => {
      while (performance.now() < end) {
        if (await v.verify(PASSWORD, cred) !== 'ok') throw new Error(`${cred.format}: not ok`)
        done++
      }
    }
    const start = performance.now()
    await Promise.all(Array.from({ length: depth }, lane))
    best = Math.max(best, done / ((performance.now() - start) / 1000))
  }
  return { what: '', opsPerSec: best, meanUs: 1e6 / best }
}

function sync(tasks: [string, () => unknown][]): Row[] {
  const bench = new Bench({ time: TIME_MS, warmupTime: Math.min(300, TIME_MS / 4) })
  for (const [name, fn] of tasks) bench.add(name, fn)
  return bench.runSync().map((t) => {
    const r = t.result
    if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state === 'errored' ? r.error.stack : r.state}`)
    return { what: t.name, opsPerSec: 1000 / r.latency.p50, meanUs: r.latency.p50 * 1000 }
  })
}

/** Slow synchronous tasks, alternated: 5 rounds of `n` calls of each; each task's best round. */
function alternated(tasks: [string, () => unknown][], n: number): Row[] {
  const best = tasks.map(() => Infinity)
  for (let round = 0; round < 5; round++) {
    tasks.forEach(([, fn], i) => {
      fn() // warm
      const start = performance.now()
      for (let k = 0; k < n; k++) fn()
      best[i] = Math.min(best[i], (performance.now() - start) / n)
    })
  }
  return tasks.map(([what], i) => ({ what, opsPerSec: 1000 / best[i], meanUs: best[i] * 1000 }))
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

async function main(): Promise<void> {
  const rows: Row[] = []
  // A budget large enough for 32 cost-10 checks in flight: the bench measures the worker, not the bound.
  const v = new Verifier({ budget: 10_000_000 })
  await v.verify(PASSWORD, CREDS[0][1]) // the worker's start is not a verification
  for (const [name, cred] of CREDS) {
    if (cred.format === 'sha' || cred.format === 'ssha') {
      rows.push(...sync([[`verify ${name}, sync`, () => v.verify(PASSWORD, cred)]]))
      continue
    }
    rows.push({ ...(await through(v, cred, 32)), what: `verify ${name}, queued` })
    rows.push({ ...(await through(v, cred, 1)), what: `verify ${name}, one by one` })
  }
  await v.close()

  const cache = new CredentialCache()
  const hash = CREDS[0][1].hash
  const value = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`
  cache.add(cache.key(value), 'alice', hash)
  const header = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`
  rows.push(...sync([
    ['cache hit (keyed SHA-256 + Map)', () => cache.get(cache.key(value))],
    ['cache miss', () => cache.get(cache.key(value + 'x'))],
    ['decodeBasic', () => decodeBasic(header)],
  ]))

  // The record behind verify.ts's choice: one synchronous hash, same setting, both packages.
  let bcryptjs: { hashSync(pw: string, salt: string): string } | null = null
  try {
    bcryptjs = (await import('bcryptjs' as string)).default
  } catch {
    console.log('(bcryptjs is not installed: npm install --no-save bcryptjs to compare with it)')
  }
  for (const [cost, n] of [[5, 40], [10, 3]]) {
    const setting = CREDS[cost === 5 ? 0 : 1][1].setting
    const raw: [string, () => unknown][] = [[`raw bcrypt cost ${cost}, native bcrypt 6.0.0`, () => hashSync(PASSWORD, setting)]]
    if (bcryptjs !== null) raw.push([`raw bcrypt cost ${cost}, bcryptjs`, () => bcryptjs!.hashSync(PASSWORD, setting)])
    rows.push(...alternated(raw, n))
  }
  rows.push(...alternated([['raw apr1 (JS, node:crypto MD5)', () => apr1Digest(Buffer.from(PASSWORD), APR1_SALT)]], 40))

  console.log(`auth micro: node ${process.version}, ${TIME_MS} ms per row`)
  console.table(rows.map((r) => ({
    what: r.what,
    'ops/s': fmt(r.opsPerSec),
    'time/op': r.meanUs >= 1000 ? `${fmt(r.meanUs / 1000, 2)} ms` : r.meanUs >= 1 ? `${fmt(r.meanUs, 2)} us` : `${fmt(r.meanUs * 1000)} ns`,
  })))
}

void main()
