/**
 * Tracing in the real CLI: `rawproxy --trace` prints each request's trace to stderr (a single process,
 * and a 2-worker cluster whose records reach the primary), and an arming through the primary's admin
 * API reaches the workers and fills the primary's ring with exactly N records.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { deadPort, httpUpstream, HttpUpstream, raw, tempFile, waitFor } from '../support/harness.js'
import { Started, getOnce, twoWorkers } from '../support/cluster.js'
import { BEARER, TOKEN, call } from '../support/admin.js'
import type { TraceRecord } from '../../src/trace/record.js'

const t = suite('trace: the CLI and the cluster')
let up: HttpUpstream
const started = new Started()

t.before(async () => { up = await httpUpstream() })
t.after.each(() => started.stopAll())
t.after(async () => { await up.close() })

t('rawproxy --trace prints each request to stderr, aligned, without colour when not a terminal', async () => {
  const p = started.cli(['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${up.port}`, '--trace'])
  await waitFor(() => /listening address=\S+ port=\d+/.test(p.err), 5000, 'the listening line')
  const port = Number(/listening address=\S+ port=(\d+)/.exec(p.err)![1])
  await raw(port, 'GET /printed HTTP/1.1\r\nHost: cli.example\r\nCookie: sid=hidden-cookie\r\nConnection: close\r\n\r\n')
  await waitFor(() => p.err.includes('masked'), 5000, 'the trace on stderr')
  const text = p.err.slice(p.err.indexOf('── trace'))
  assert.match(text, /^── trace p-1 ── GET \/printed → 200 ── 127\.0\.0\.1:\d+ on 127\.0\.0\.1:\d+ ── [\d.]+ ms\n/)
  assert.match(text, /\nreceived\n {2}│ GET \/printed HTTP\/1\.1\\r\\n\n/)
  assert.match(text, /\n +[\d.]+ {2}check {5}exactly one Host on HTTP\/1\.1 +pass +RFC 9112 §3\.2\n/)
  assert.match(text, /\n {2}- Connection: close\n/)
  assert.match(text, /\n {2}\+ X-Forwarded-For: 127\.0\.0\.1\n/)
  assert.match(text, /\nframing {3}content-length 2\n/)
  assert.match(text, /\ntimings {3}parse [\d.]+ · filters [\d.]+ · connect [\d.]+ · upstream head [\d.]+ · body [\d.]+ · total [\d.]+ ms\n/)
  assert.match(text, /\nmasked {4}cookie\n/)
  assert.not.ok(text.includes('hidden-cookie'))
  assert.not.ok(text.includes('\u001b['), 'no colour into a pipe')
})

t('a 2-worker cluster: --trace prints in the primary; POST /traces arms the workers, the ring gets exactly N', async () => {
  const admin = await deadPort()
  const file = tempFile('trace-cluster.yaml')
  writeFileSync(file, twoWorkers(up.port) + `admin: { listen: "127.0.0.1:${admin}", token: ${TOKEN} }\n`)
  const p = started.cli(['--config', file])
  const port = await p.started()
  assert.equal(JSON.parse((await call(admin, 'POST', '/traces?count=3&path=/armed', BEARER)).body), { armed: 3, route: '', path: '/armed' })
  for (let i = 0; i < 4; i++) assert.match(await getOnce(port, `/other-${i}`), /^HTTP\/1\.1 200 /)
  for (let i = 0; i < 6; i++) assert.match(await getOnce(port, `/armed/${i}`), /^HTTP\/1\.1 200 /)
  const list = async (): Promise<TraceRecord[]> => JSON.parse((await call(admin, 'GET', '/traces', BEARER)).body) as TraceRecord[]
  let got: TraceRecord[] = []
  for (let i = 0; i < 100 && got.length < 3; i++) { got = await list(); await new Promise((r) => setTimeout(r, 50)) }
  assert.is(got.length, 3)
  for (const r of got) {
    assert.match(r.id, /^w[12]\.\d+-\d+$/)
    assert.match(r.spans[1].text, /^\/armed\//)
  }
  assert.is(new Set(got.map((r) => r.id)).size, 3, 'ids unique in the group')
  // Later matching requests are not traced: the workers were told the arming is over.
  for (let i = 0; i < 4; i++) await getOnce(port, `/armed/late-${i}`)
  assert.is((await list()).length, 3)
  await started.stopAll()

  const q = started.cli(['--config', file, '--trace'])
  const port2 = await q.started()
  for (let i = 0; i < 4; i++) await getOnce(port2, `/everything-${i}`)
  await waitFor(() => (q.err.match(/── trace w[12]\.\d+-\d+ ── GET \/everything-/g) ?? []).length === 4, 5000, `four traces on the primary's stderr: ${q.err}`)
  const ids = [...q.err.matchAll(/── trace (w[12])\.\d+-\d+/g)].map((m) => m[1])
  assert.ok(ids.length === 4)
})

t.run()
