// The filter chain in a cluster: every worker builds the chains from the config the primary sent
// (the feature settings cross the JSON channel as plain data), and a reload reaches them all.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { httpUpstream, HttpUpstream, tempFile, waitFor } from '../support/harness.js'
import { Started, getOnce, twoWorkers } from '../support/cluster.js'

const t = suite('cluster: filters in every worker')
let up: HttpUpstream
const started = new Started()

t.before(async () => { up = await httpUpstream((req, res) => res.end(`peer ${req.url}`)) })
t.after.each(() => started.stopAll())
t.after(async () => { await up.close() })

const sha = (pw: string): string => `{SHA}${createHash('sha1').update(pw).digest('base64')}`

function routes(hidden: string): string {
  return `routes:\n  - { path: /admin, upstream: main, auth: { users: { ops: "${sha('pw')}" } } }\n` +
    `  - { upstream: main, rules: [{ match: { path: ${hidden} }, deny: 404 }] }\n`
}

t('rules and auth answer alike on both workers; a reload changes them on both', async () => {
  const file = tempFile('filters.yaml')
  const p = started.config(twoWorkers(up.port, routes('/internal')), file)
  const port = await p.started()
  // New connections go round-robin to the two workers: six of them reach both.
  for (let i = 0; i < 6; i++) {
    assert.match(await getOnce(port, '/internal/x'), /^HTTP\/1\.1 404 /)
    assert.match(await getOnce(port, '/admin'), /^HTTP\/1\.1 401 /)
    assert.match(await getOnce(port, '/other'), /^HTTP\/1\.1 200 OK peer \/other$/)
  }
  writeFileSync(file, twoWorkers(up.port, routes('/other')))
  p.child.kill('SIGHUP')
  await waitFor(() => /info reloaded/.test(p.err), 5000, 'the reload')
  for (let i = 0; i < 6; i++) {
    assert.match(await getOnce(port, '/other'), /^HTTP\/1\.1 404 /)
    assert.match(await getOnce(port, '/internal/x'), /^HTTP\/1\.1 200 /)
  }
})

t.run()
