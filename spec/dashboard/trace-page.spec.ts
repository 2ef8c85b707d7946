/**
 * The trace page in a real browser (Debian's Chromium): armed from the page (POST /traces with the
 * token), one request with a body shows up live from /traces/stream with its spans highlighted in the
 * bytes received, the filters' verdicts among the steps, the head sent upstream with the added line
 * marked, the framing and the timings; no console error.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, raw } from '../support/harness.js'
import { TOKEN, adminProxy } from '../support/admin.js'
import { openTab } from '../support/browser.js'

const t = suite('trace page in a browser')
const track = guard(t)

const BODY = 'name=trace&note=hello+page'

t('a request with a body: its spans, filter verdicts and timings, live', async () => {
  const up = track(await httpUpstream((_q, res) => res.end('traced ok')))
  const ap = track(await adminProxy({
    upstreams: { tr: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ path: '/', upstream: 'tr', headers: { request: { set: { 'X-Traced': 'yes' } } } }],
  }))
  const x = track(await openTab())
  await x.page.goto(`http://127.0.0.1:${ap.adminPort}/trace#token=${TOKEN}`)
  await x.page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live', undefined, { timeout: 10_000 })
  await x.page.locator('#arm button[type="submit"]').click()
  await x.page.waitForFunction(() => document.body.dataset.armed === '1', undefined, { timeout: 5000 })
  const r = await raw(ap.port, `POST /form?x=1 HTTP/1.1\r\nHost: trace.example\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${BODY.length}\r\nConnection: close\r\n\r\n${BODY}`)
  assert.match(r.text, /traced ok$/)
  const item = x.page.locator('#list li[data-id]').first()
  await item.waitFor({ timeout: 5000 })
  assert.match((await item.textContent()) ?? '', /POST \/form\?x=1 → 200/)
  const d = x.page.locator('#detail')
  assert.is(await d.locator('pre.bytes .k-method').first().textContent(), 'POST')
  assert.is(await d.locator('pre.bytes .k-target').first().textContent(), '/form?x=1')
  assert.is(await d.locator('pre.bytes .k-body').first().textContent(), BODY, 'the body span, highlighted')
  assert.ok((await d.locator('pre.bytes .k-header-name').allTextContents()).includes('Content-Length'))
  assert.match((await d.locator('pre.bytes').first().textContent()) ?? '', /\\r\\n/, 'CR LF shown escaped')
  const filter = d.locator('tr[data-phase="filter"]')
  assert.ok(await filter.count() >= 1, 'a filter step')
  assert.match((await filter.first().textContent()) ?? '', /headers.*pass/)
  assert.ok(await d.locator('tr[data-phase="check"]').count() >= 1, 'the parser\'s checks')
  assert.match((await d.locator('.head-lines li.added').allTextContents()).join('\n'), /X-Traced: yes/, 'the added line, marked')
  assert.match((await d.locator('#framing').textContent()) ?? '', /content-length/)
  for (const k of ['parse', 'filters', 'total']) assert.is(await d.locator(`[data-timing="${k}"]`).count(), 1, `timing ${k}`)
  assert.equal(x.errors, [])
})

t.run()
