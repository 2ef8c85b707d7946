import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { parseHash, decoy } from '../../../src/config/htpasswd.js'
import { Verifier, VerifyResult } from '../../../src/filters/auth/verify.js'
import { apr1Digest } from '../../../src/filters/auth/apr1.js'
import { hashOf, sshaOf } from './tools.js'

const t = suite('auth verify')
const v = new Verifier()
t.after(() => v.close())

const PASSWORDS = ['secret', '', 'pässwörd £€ 𝄞', 'with:colons and spaces', 'x'.repeat(100)]

async function check(hash: string, right: string, wrong: string): Promise<void> {
  const c = parseHash(hash, 'p')
  assert.is(await v.verify(right, c), 'ok', `${hash} with ${JSON.stringify(right)}`)
  assert.is(await v.verify(wrong, c), 'bad', `${hash} with ${JSON.stringify(wrong)}`)
}

t('bcrypt from htpasswd -B (cost 5, its default) and -B -C 4', async () => {
  for (const pw of PASSWORDS) await check(hashOf(['-B', '-C', '4'], pw), pw, `-${pw}`)
  await check(hashOf(['-B'], 'secret'), 'secret', 'Secret')
})

t('the hashing thread runs at the lowest CPU priority (nice 19), the event loop at the process\'s', async () => {
  await check(hashOf(['-B', '-C', '4'], 'pw'), 'pw', 'px')
  // /proc/self/task/TID/stat: field 19 is the nice value (after the name in parentheses).
  const nice = readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
    return { tid: Number(tid), nice: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]) }
  })
  assert.ok(nice.some((n) => n.nice === 19), `a thread at nice 19: ${JSON.stringify(nice)}`)
  assert.is(nice.find((n) => n.tid === process.pid)!.nice, 0, 'the main thread is untouched')
})

t('bcrypt $2a$ and $2b$ (other tools) verify like $2y$', async () => {
  const h = hashOf(['-B', '-C', '4'], 'secret')
  await check(h.replace('$2y$', '$2a$'), 'secret', 'secreT')
  await check(h.replace('$2y$', '$2b$'), 'secret', 'secreT')
})

t('bcrypt reads 72 bytes: longer passwords verify on their first 72, as every bcrypt does', async () => {
  const long = 'é'.repeat(40) // 80 bytes
  const c = parseHash(hashOf(['-B', '-C', '4'], long), 'p')
  assert.is(await v.verify(long, c), 'ok')
  assert.is(await v.verify('é'.repeat(36) + 'tail', c), 'ok', 'the same 72 bytes')
  assert.is(await v.verify('é'.repeat(35), c), 'bad')
  assert.is(await v.verify('é'.repeat(300), c), 'ok', 'never the $2a$ length wrap-around')
})

t('apr1 from htpasswd -m, and the Apache documentation\'s example', async () => {
  for (const pw of PASSWORDS) await check(hashOf(['-m'], pw), pw, `-${pw}`)
  await check('$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/', 'myPassword', 'mypassword')
  assert.is(apr1Digest(Buffer.from('myPassword'), 'r31.....'), 'HqJZimcKQFAMYayBlzkrA/')
})

t('{SHA} from htpasswd -s and {SSHA} made here answer synchronously', () => {
  for (const pw of PASSWORDS) {
    for (const hash of [hashOf(['-s'], pw), sshaOf(pw)]) {
      const c = parseHash(hash, 'p')
      assert.is(v.verify(pw, c), 'ok', hash)
      assert.is(v.verify(pw + ' ', c), 'bad', hash)
    }
  }
  assert.is(v.pending, 0, 'never went to the worker')
})

t('an unknown user costs a verification against the decoy and is always refused', async () => {
  const users = new Map([['a', parseHash(hashOf(['-s'], 'pw'), 'p')], ['b', parseHash(hashOf(['-B', '-C', '4'], 'pw'), 'p')]])
  const d = decoy(users)
  assert.is(d, users.get('b'))
  const r = v.verifyUnknown('pw', d) // the decoy's own password: still no
  assert.instance(r, Promise, 'did the bcrypt work')
  assert.is(await r, 'bad')
  assert.is(v.verifyUnknown('pw', users.get('a')!), 'bad')
  assert.is(v.verifyUnknown('pw', null), 'bad')
})

t('the event loop keeps running while bcrypt (cost 10) verifications are in flight', async () => {
  const c = parseHash(hashOf(['-B', '-C', '10'], 'secret'), 'p')
  await v.verify('warm-up', parseHash(hashOf(['-B', '-C', '4'], 'x'), 'p')) // worker started
  let ticks = 0
  const timer = setInterval(() => { ticks++ }, 1)
  const N = 4
  const all = Promise.all(Array.from({ length: N }, (_, i) => v.verify(i === 0 ? 'secret' : `wrong${i}`, c)))
  assert.is(v.pending, N)
  const results = await all
  clearInterval(timer)
  assert.equal(results, ['ok', 'bad', 'bad', 'bad'])
  // Each one takes ~50 ms, so ~200 ms in all: a free loop ticks about every millisecond; a blocked
  // one would tick about once per verification.
  assert.ok(ticks >= 10 * N, `only ${ticks} ticks while ${N} verifications ran`)
})

t('a full queue answers busy at once, without a promise', async () => {
  const small = new Verifier({ queue: 2 })
  const c = parseHash(hashOf(['-B', '-C', '6'], 'secret'), 'p')
  const a = small.verify('secret', c)
  const b = small.verify('nope', c)
  assert.is(small.verify('secret', c), 'busy')
  assert.is(small.verifyUnknown('secret', c), 'busy')
  assert.is(small.verify('secret', parseHash(sshaOf('secret'), 'p')), 'ok', 'sync formats never queue')
  assert.equal(await Promise.all([a, b]), ['ok', 'bad'])
  assert.is(small.pending, 0)
  assert.is(await small.verify('secret', c), 'ok', 'room again')
  await small.close()
})

t('close() ends the worker and answers what was queued with busy; a later verify starts a new one', async () => {
  const w = new Verifier()
  await w.close() // nothing started: nothing to do
  const c = parseHash(hashOf(['-B', '-C', '8'], 'secret'), 'p')
  const queued: Promise<VerifyResult>[] = [1, 2, 3].map(() => w.verify('secret', c) as Promise<VerifyResult>)
  await w.close()
  assert.equal(await Promise.all(queued), ['busy', 'busy', 'busy'])
  assert.is(w.pending, 0)
  assert.is(await w.verify('secret', c), 'ok', 'restarted')
  await w.close()
})

t('the worker never keeps the process alive once idle, and keeps it while a verification runs', () => {
  const dir = new URL('../../../src/filters/auth/', import.meta.url).href
  const config = new URL('../../../src/config/', import.meta.url).href
  const hash = hashOf(['-B', '-C', '4'], 'pw')
  // No close(): the child must still exit on its own, after printing the answer it waited for.
  const script = `
    import { Verifier } from '${dir}verify.js'
    import { parseHash } from '${config}htpasswd.js'
    const v = new Verifier()
    v.verify('pw', parseHash('${hash}', 'p')).then((r) => console.log(r))`
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 10_000 })
  assert.is(out.trim(), 'ok')
})

t('a worker that dies answers busy, reports the fault, and is not restarted at once', async () => {
  const faults: Error[] = []
  // What a native binding that does not load looks like to the verifier: the worker throws and exits.
  const broken = new URL(`data:text/javascript,${encodeURIComponent("throw new Error('no binding')")}`)
  const w = new Verifier({ onFault: (e) => faults.push(e), worker: broken })
  const c = parseHash(hashOf(['-B', '-C', '4'], 'pw'), 'p')
  const r = w.verify('pw', c)
  assert.instance(r, Promise)
  assert.is(await r, 'busy')
  assert.is(faults.length, 1)
  assert.match(faults[0].message, 'no binding')
  assert.is(w.verify('pw', c), 'busy', 'no new thread for the next second')
  await w.close()
})

t.run()
