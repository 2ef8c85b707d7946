import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:net'
import { httpUpstream, HttpUpstream, RawClient, sleep, deadPort } from '../support/harness.js'
import { CliProc, Started, ownerOf, get, getOnce, twoWorkers } from '../support/cluster.js'
import { backoff } from '../../src/cluster/primary.js'

const t = suite('cluster: a crashed worker')
let a: HttpUpstream
const started = new Started()
const start = (yaml: string): CliProc => started.config(yaml)
const open = (port: number): Promise<RawClient> => started.client(port)

t.before(async () => { a = await httpUpstream((_req, res) => res.end('from-a')) })
t.after.each(() => started.stopAll())
t.after(async () => { await a.close() })

t('backoff doubles for crashes in a row, from 100 ms up to 10 s', () => {
  assert.equal([1, 2, 3, 4].map(backoff), [100, 200, 400, 800])
  assert.is(backoff(20), 10_000)
})

t('kill -9 of one worker: keep-alive clients of the other see no error; a new worker comes up', async () => {
  const p = start(twoWorkers(a.port))
  const port = await p.started()
  const pids = p.workers()
  assert.is(pids.size, 2)
  // Round-robin spreads six connections over both workers; each is asked once so it is accepted.
  const conns = await Promise.all([1, 2, 3, 4, 5, 6].map(() => open(port)))
  for (const c of conns) assert.is(await get(c), 'from-a')
  const owner = new Map(conns.map((c) => [c, ownerOf(port, c, pids.values())]))
  const victim = pids.get(1)!
  const victims = conns.filter((c) => owner.get(c) === victim)
  const survivors = conns.filter((c) => owner.get(c) === pids.get(2))
  assert.ok(victims.length > 0 && survivors.length > 0, `connections on both workers: ${[...owner.values()]}`)
  assert.is(victims.length + survivors.length, 6)

  // The survivors keep requesting, back to back, through the kill and the restart.
  let running = true
  const answers: string[] = []
  const loops = survivors.map(async (c) => {
    while (running) answers.push(await get(c).catch((err: Error) => `error: ${err.message}`))
  })
  await sleep(50)
  const from = p.err.length
  process.kill(victim, 'SIGKILL')
  await p.line(new RegExp(`error worker crashed worker=1 pid=${victim} code=null signal=SIGKILL restart_in_ms=100`), 3000, from)
  const [, fresh] = await p.line(/info worker restarted worker=1 pid=(\d+)/, 5000, from)
  await sleep(50)
  running = false
  await Promise.all(loops)

  assert.ok(answers.length > survivors.length * 3, `requests went on meanwhile (${answers.length})`)
  assert.equal([...new Set(answers)], ['from-a'], 'no survivor saw an error')
  for (const c of survivors) assert.not.ok(c.closed || c.ended)
  await sleep(20)
  for (const c of victims) assert.ok(c.closed || c.ended, 'the killed worker\'s connections are gone')
  assert.is.not(Number(fresh), victim)
  assert.is(p.workers().get(1), Number(fresh))

  // New connections reach both workers again, the new one included.
  const news = await Promise.all([1, 2, 3, 4].map(() => open(port)))
  for (const c of news) assert.is(await get(c), 'from-a')
  const owners = news.map((c) => ownerOf(port, c, p.workers().values()))
  assert.ok(owners.includes(Number(fresh)), `the new worker serves: ${owners}`)
  assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')

  p.child.kill('SIGTERM')
  assert.is(await p.exited, 0)
  assert.match(p.err, /info stopped requests=\d+/)
})

t('a worker stopped alone with SIGTERM closes gracefully and is replaced', async () => {
  const p = start(twoWorkers(a.port))
  const port = await p.started()
  const old = p.workers().get(2)!
  const from = p.err.length
  process.kill(old, 'SIGTERM')
  await p.line(new RegExp(`warn worker exited worker=2 pid=${old} code=0 signal=null`), 3000, from)
  const [, fresh] = await p.line(/worker restarted worker=2 pid=(\d+)/, 5000, from)
  assert.is.not(Number(fresh), old)
  for (let i = 0; i < 4; i++) assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')
})

t('a replacement that cannot listen is retried with a growing backoff until it can', async () => {
  const port = await deadPort()
  const p = start(`workers: 2\nlisten: ["127.0.0.1:${port}"]\nupstreams:\n  main: { peers: ["127.0.0.1:${a.port}"] }\naccess_log: off\n`)
  await p.started()
  const from = p.err.length
  // Both workers die: the shared listener closes with the last one, and someone else takes the port.
  for (const pid of p.workers().values()) process.kill(pid, 'SIGKILL')
  const blocker = createServer()
  const take = (): Promise<boolean> => new Promise((resolve) => {
    blocker.once('error', () => resolve(false))
    blocker.listen(port, '127.0.0.1', () => { blocker.removeAllListeners('error'); resolve(true) })
  })
  const until = Date.now() + 1000
  while (!(await take())) {
    blocker.removeAllListeners('error')
    if (Date.now() > until) throw new Error('the port stayed taken')
    await sleep(2)
  }
  try {
    await p.line(/error worker restart failed worker=\d error=.*EADDRINUSE.* restart_in_ms=200/, 3000, from)
    await p.line(/error worker restart failed worker=\d error=.*EADDRINUSE.* restart_in_ms=400/, 3000, from)
  } finally {
    await new Promise((r) => blocker.close(r))
  }
  await p.line(/info worker restarted worker=1/, 5000, from)
  await p.line(/info worker restarted worker=2/, 5000, from)
  assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')
})

t('a worker that cannot listen stops the start: exit 1 with the reason', async () => {
  const taken = await httpUpstream()
  try {
    const p = start(`workers: 2\nlisten: ["127.0.0.1:${taken.port}"]\nupstreams:\n  main: { peers: ["127.0.0.1:${a.port}"] }\n`)
    assert.is(await p.exited, 1)
    assert.match(p.err, /listen failed error=.*EADDRINUSE/)
  } finally {
    await taken.close()
  }
})

t.run()
