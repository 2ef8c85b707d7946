import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { validate } from '../../src/config/validate.js'
import { Runtime } from '../../src/proxy/runtime.js'
import { httpUpstream, startProxy, raw, HttpUpstream } from '../support/harness.js'

const t = suite('router')

function router(routes: unknown[]) {
  const rt = new Runtime(validate({
    upstreams: { exact: { peers: ['127.0.0.1:1'] }, wild: { peers: ['127.0.0.1:2'] }, api: { peers: ['127.0.0.1:3'] }, any: { peers: ['127.0.0.1:4'] } },
    routes,
  }))
  return (host: string, path: string) => rt.router.match(host, path)?.group.name ?? null
}

t('most specific route wins, whatever the order in the file', () => {
  const m = router([
    { upstream: 'any' },
    { host: '*.example.com', upstream: 'wild' },
    { host: 'shop.example.com', upstream: 'exact' },
    { host: '*.example.com', path: '/api', upstream: 'api' },
  ])
  assert.is(m('shop.example.com', '/api/x'), 'exact', 'an exact host beats a wildcard with a longer path')
  assert.is(m('www.example.com', '/api/x'), 'api')
  assert.is(m('www.example.com', '/'), 'wild')
  assert.is(m('a.b.example.com', '/'), 'wild', 'a wildcard covers any depth of subdomain')
  assert.is(m('example.com', '/'), 'any', '*.example.com does not cover example.com itself')
  assert.is(m('other.test', '/api'), 'any')
})

t('path prefixes match whole segments', () => {
  const m = router([{ path: '/api', upstream: 'api' }])
  assert.is(m('h', '/api'), 'api')
  assert.is(m('h', '/api/'), 'api')
  assert.is(m('h', '/api/v1?x=1'), 'api')
  assert.is(m('h', '/api?x=1'), 'api')
  assert.is(m('h', '/apix'), null)
  assert.is(m('h', '/'), null)
})

let a: HttpUpstream
let b: HttpUpstream
t.before(async () => {
  a = await httpUpstream((_q, res) => res.end('a'))
  b = await httpUpstream((_q, res) => res.end('b'))
})
t.after(async () => { await a.close(); await b.close() })

t('routes by Host (case and port ignored) end to end', async () => {
  const px = await startProxy({
    upstreams: { a: { peers: [`127.0.0.1:${a.port}`] }, b: { peers: [`127.0.0.1:${b.port}`] } },
    routes: [{ host: 'B.test', upstream: 'b' }, { host: '*.wild.test', upstream: 'b' }, { path: '/', upstream: 'a' }],
  })
  const body = async (host: string, target = '/'): Promise<string> => (await raw(px.port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).text.split('\r\n\r\n')[1]
  assert.is(await body('b.test'), 'b')
  assert.is(await body('B.TEST:8080'), 'b')
  assert.is(await body('x.wild.test'), 'b')
  assert.is(await body('a.test'), 'a')
  assert.is(await body('a.test', 'http://b.test/abs'), 'b', 'absolute-form: the target\'s authority routes')
  assert.is(await body('[::1]:80'), 'a')
  await px.close()
})

t.run()
