/**
 * The dashboard in a real browser (Debian's Chromium, spec/support/browser.ts): it opens with no
 * console error and takes the token from the address; traffic moves the request rate and a latency
 * chart; a peer that dies is shown down within the probe time; the drain button drains the peer in
 * the page and in /status; without a token the page asks for one; a phone-width page has no sideways
 * scroll.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, raw, sleep } from '../support/harness.js'
import { BEARER, TOKEN, adminProxy, call } from '../support/admin.js'
import { openTab, type Tab } from '../support/browser.js'

const t = suite('dashboard in a browser')
const track = guard(t)

/** Probes every 200 ms, one failure marks a peer down. */
const HEALTH = { path: '/', interval: '200ms', timeout: '150ms', fall: 1 }

async function setUp() {
  const a = track(await httpUpstream((_q, res) => setTimeout(() => res.end('a'), 2)))
  const b = track(await httpUpstream((_q, res) => res.end('b')))
  const ap = track(await adminProxy({ upstreams: { shop: { peers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], health: HEALTH } }, routes: [{ path: '/', upstream: 'shop' }] }))
  return { a, b, ap }
}

async function tab(width?: number, height?: number): Promise<Tab> {
  return track(await openTab(width, height))
}

/** Requests for `ms`, a few at a time, then stops. */
async function traffic(port: number, ms: number): Promise<void> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    await Promise.all([0, 1, 2].map(() => raw(port, 'GET /item HTTP/1.1\r\nHost: shop\r\nConnection: close\r\n\r\n')))
    await sleep(10)
  }
}

async function live(x: Tab, url: string): Promise<void> {
  await x.page.goto(url)
  await x.page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live', undefined, { timeout: 10_000 })
}

t('opens with no console error, takes the token out of the address, and moves with traffic', async () => {
  const { ap } = await setUp()
  const x = await tab()
  await live(x, `http://127.0.0.1:${ap.adminPort}/#token=${TOKEN}`)
  assert.not.match(x.page.url(), /token/, 'the token is removed from the address')
  const before = await x.page.locator('#kpi-rps .value').textContent()
  const load = traffic(ap.port, 3000)
  await x.page.waitForFunction(() => Number(document.querySelector('#kpi-rps .value')?.textContent) > 0, undefined, { timeout: 8000 })
  await x.page.waitForFunction(() => /p99 [\d.]+ ms/.test((document.getElementById('chart-latency') as HTMLElement).dataset.now ?? ''), undefined, { timeout: 8000 })
  await load
  assert.is(before, '0', 'no request before the traffic')
  assert.ok(await x.page.locator('#chart-rps canvas').count() >= 1, 'the request-rate chart is drawn')
  assert.match((await x.page.locator('#chart-upstream-p99').getAttribute('data-now')) ?? '', /shop [\d.]+ ms/)
  assert.match((await x.page.locator('#causes').textContent()) ?? '', /--/, 'the termination causes of the window')
  assert.match((await x.page.locator('#events').textContent()) ?? '', /admin listening/)
  assert.equal(x.errors, [])
})

t('a peer that dies is shown down within the probe time', async () => {
  const { b, ap } = await setUp()
  const x = await tab()
  await live(x, `http://127.0.0.1:${ap.adminPort}/#token=${TOKEN}`)
  const row = x.page.locator(`tr[data-peer="shop 127.0.0.1:${b.port}"]`)
  await row.locator('.state', { hasText: 'up' }).waitFor({ timeout: 5000 })
  await b.close()
  // One probe (200 ms, fall 1), the next second's sample, one frame: well within 5 s.
  await row.locator('.state', { hasText: 'down' }).waitFor({ timeout: 5000 })
  await x.page.locator('#events li[data-event="peer down"]').first().waitFor({ timeout: 5000 })
  assert.equal(x.errors, [])
})

t('the drain button drains the peer, in the page and in /status', async () => {
  const { a, ap } = await setUp()
  const x = await tab()
  await live(x, `http://127.0.0.1:${ap.adminPort}/#token=${TOKEN}`)
  const peer = `127.0.0.1:${a.port}`
  const row = x.page.locator(`tr[data-peer="shop ${peer}"]`)
  await row.locator('.state', { hasText: 'up' }).waitFor({ timeout: 5000 })
  await row.locator('button[data-action="drain"]').click()
  await row.locator('.state', { hasText: 'draining' }).waitFor({ timeout: 5000 })
  const status = JSON.parse((await call(ap.adminPort, 'GET', '/status', BEARER)).body) as { upstreams: { peers: { peer: string; state: string }[] }[] }
  assert.is(status.upstreams[0].peers.find((p) => p.peer === peer)?.state, 'draining')
  assert.ok(await row.locator('button[data-action="enable"]').isEnabled(), 'enable is offered now')
  await row.locator('button[data-action="enable"]').click()
  await row.locator('.state', { hasText: 'up' }).waitFor({ timeout: 5000 })
  assert.equal(x.errors, [])
})

t('without a token the page asks for one, and goes live with it', async () => {
  const { ap } = await setUp()
  const x = await tab()
  await x.page.goto(`http://127.0.0.1:${ap.adminPort}/`)
  const dialog = x.page.locator('#login')
  await dialog.waitFor({ state: 'visible', timeout: 5000 })
  await dialog.locator('input[name="token"]').fill(TOKEN)
  await dialog.locator('button[type="submit"]').click()
  await x.page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live', undefined, { timeout: 5000 })
  // The 401 that made the page ask is the one console error a browser prints for it.
  assert.ok(x.errors.every((e) => /401/.test(e)), x.errors.join('\n'))
})

t('at a phone\'s width the page has no sideways scroll', async () => {
  const { ap } = await setUp()
  const x = await tab(390, 844)
  await live(x, `http://127.0.0.1:${ap.adminPort}/#token=${TOKEN}`)
  await x.page.locator('#chart-rps canvas').first().waitFor({ timeout: 5000 })
  const wide = await x.page.evaluate(() => document.documentElement.scrollWidth)
  assert.ok(wide <= 390, `the page is ${wide} px wide`)
  assert.equal(x.errors, [])
})

t.run()
