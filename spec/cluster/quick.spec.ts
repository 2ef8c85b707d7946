import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { httpUpstream, HttpUpstream, tempFile, waitFor } from '../support/harness.js'
import { CliProc, Started, getOnce, listeners } from '../support/cluster.js'

const t = suite('cluster: --workers in quick mode')
let a: HttpUpstream
const started = new Started()
const run = (args: string[]): CliProc => started.cli(args)

t.before(async () => { a = await httpUpstream((_req, res) => res.end('from-a')) })
t.after.each(() => started.stopAll())
t.after(async () => { await a.close() })

t('--workers 2 runs a primary and two workers; SIGHUP without a file is ignored; SIGTERM stops all', async () => {
  const p = run(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${a.port}`, '--workers', '2'])
  const port = await p.started()
  assert.match(p.err, /info started pid=\d+ workers=2 parser="llhttp /)
  assert.is(p.workers().size, 2)
  for (let i = 0; i < 4; i++) assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')
  p.child.kill('SIGHUP')
  await p.line(/warn reload ignored reason="no --config file"/)
  p.child.kill('SIGTERM')
  assert.is(await p.exited, 0)
  assert.match(p.err, /info stopped requests=4 accepted=4 /)
})

t('who accepts: the primary (round-robin), or the workers with NODE_CLUSTER_SCHED_POLICY=none', async () => {
  for (const [env, acceptor] of [[{}, 'primary'], [{ NODE_CLUSTER_SCHED_POLICY: 'none' }, 'workers']] as const) {
    const p = started.cli(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${a.port}`, '--workers', '2'], env)
    const port = await p.started()
    const all = [p.child.pid!, ...p.workers().values()].sort((x, y) => x - y)
    // The primary opens the socket either way; with "none" each worker holds it too and accepts.
    const holding = listeners(port, all).sort((x, y) => x - y)
    assert.equal(holding, acceptor === 'primary' ? [p.child.pid] : all, `who holds the listening socket (${acceptor} accept)`)
    for (let i = 0; i < 4; i++) assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')
    await p.stop()
  }
})

t('a single process (workers: 1) has no cluster: SIGUSR2 is logged and ignored, and it keeps serving', async () => {
  const p = run(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${a.port}`])
  await waitFor(() => /listening address=\S+ port=\d+/.test(p.err), 5000, 'the listening line')
  const port = Number(/port=(\d+)/.exec(p.err)![1])
  assert.not.match(p.err, /worker/)
  p.child.kill('SIGUSR2')
  await p.line(/warn rolling restart ignored reason="workers: 1, no worker to replace"/)
  assert.is(await getOnce(port), 'HTTP/1.1 200 OK from-a')
  p.child.kill('SIGTERM')
  assert.is(await p.exited, 0)
})

t('--workers is validated like the config key, and only in quick mode', async () => {
  const bad = run(['--upstream', `127.0.0.1:${a.port}`, '--workers', 'many'])
  assert.is(await bad.exited, 1)
  assert.match(bad.err, /invalid config: workers: must be "auto" or an integer from 1 to 256/)
  const file = tempFile('w.yaml')
  writeFileSync(file, `upstreams:\n  main: { peers: ["127.0.0.1:${a.port}"] }\n`)
  const withFile = run(['--config', file, '--workers', '2'])
  assert.is(await withFile.exited, 1)
  assert.match(withFile.err, /invalid config: --workers: is for quick mode; a config file sets `workers:`/)
})

t.run()
