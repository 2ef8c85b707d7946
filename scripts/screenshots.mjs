// `make screenshots`: the dashboard and the trace page in Debian's Chromium (headless, the same launch
// as the specs: dist/spec/support/browser.js), at a desktop and a phone width, light and dark, with
// some traffic, a dead peer, a drained one and one traced request: docs/img/*.png, shown in the README.
// Everything listens on 127.0.0.1 port 0 and is stopped at the end.
import { mkdirSync } from 'node:fs'
import { adminProxy, TOKEN, BEARER, call } from '../dist/spec/support/admin.js'
import { httpUpstream, raw, sleep } from '../dist/spec/support/harness.js'
import { openTab } from '../dist/spec/support/browser.js'

const OUT = 'docs/img'
mkdirSync(OUT, { recursive: true })

const slow = (ms) => (q, res) => {
  if (q.url.startsWith('/static')) res.setHeader('cache-control', 'max-age=60')
  setTimeout(() => res.end('ok\n'), Math.random() * ms)
}
const ups = await Promise.all([httpUpstream(slow(8)), httpUpstream(slow(30)), httpUpstream(slow(4)), httpUpstream(slow(60))])
const [a, b, c, d] = ups.map((u) => `127.0.0.1:${u.port}`)
const health = { path: '/', interval: '1s', timeout: '500ms', fall: 1 }
const ap = await adminProxy({
  upstreams: { web: { peers: [a, b, c], health, balance: 'least_conn' }, api: { peers: [d], health } },
  routes: [
    { path: '/api', upstream: 'api', rate_limit: { limits: [{ name: 'api', key: 'client_ip', rate: '30/s', burst: 10 }] } },
    { path: '/static', upstream: 'web', cache: {} },
    { path: '/', upstream: 'web', rules: [{ match: { path: '/missing' }, respond: 404, body: 'no\n' }] },
  ],
})
const get = (path, extra = '') => raw(ap.port, `GET ${path} HTTP/1.1\r\nHost: shop.example\r\n${extra}Connection: close\r\n\r\n`).catch(() => {})

/** A few requests at a time for `ms`: mostly pages, some API calls (a few over the limit), some 404s. */
async function traffic(ms) {
  const end = Date.now() + ms
  let i = 0
  while (Date.now() < end) {
    i++
    await Promise.all([get(`/item/${i}`), get('/api/v1/cart'), i % 7 === 0 ? get('/missing') : get('/'), get('/api/v1/user'), get(`/static/app-${i % 20}.css`)])
    await sleep(15)
  }
}

async function shot(path, name, width, height, scheme, prepare = async () => {}) {
  const tab = await openTab(width, height, scheme)
  try {
    await tab.page.goto(`http://127.0.0.1:${ap.adminPort}${path}#token=${TOKEN}`)
    await tab.page.waitForFunction(() => document.getElementById('conn')?.textContent === 'live', undefined, { timeout: 10_000 })
    await prepare(tab.page)
    await sleep(1500)
    await tab.page.screenshot({ path: `${OUT}/${name}.png`, fullPage: true })
    if (tab.errors.length > 0) console.error(`${name}: ${tab.errors.join('; ')}`)
    console.log(`${OUT}/${name}.png`)
  } finally {
    await tab.close()
  }
}

try {
  await traffic(25_000)
  await ups[1].close()                                        // a peer dies: shown down
  await call(ap.adminPort, 'POST', `/upstreams/web/peers/${c}/drain`, BEARER)
  const load = traffic(20_000)
  await sleep(3000)
  await shot('/', 'dashboard-desktop', 1280, 900, 'light')
  await shot('/', 'dashboard-dark', 1280, 900, 'dark')
  await shot('/', 'dashboard-phone', 390, 844, 'light')
  await load
  await call(ap.adminPort, 'POST', '/traces?count=1&path=/form', BEARER)
  const body = 'name=ada&note=hello'
  await raw(ap.port, `POST /form?from=docs HTTP/1.1\r\nHost: shop.example\r\nAuthorization: Bearer secret-token-value\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
  await shot('/trace', 'trace-desktop', 1280, 900, 'light')
  await shot('/trace', 'trace-phone', 390, 844, 'dark')
} finally {
  await ap.close()
  for (const u of ups) await u.close().catch(() => {})
}
process.exit(0)
