// Response compression (issue 12) through real sockets: RFC 9110 §12.5.3 negotiation, when it applies
// and when not, the head it gets (Content-Encoding, framing, Vary, a weak ETag), HTTP/1.0 clients,
// and the `compress` config. Every coded body is decoded (zlib here, curl --compressed) and compared
// with the upstream's bytes.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { httpUpstream, startProxy, guard, HttpUpstream, ProxyHandle, RawClient } from '../support/harness.js'
import { decode, fetchCoded, json, parse } from '../support/coded.js'
import { negotiate } from '../../src/filters/compress/negotiate.js'
import { validate } from '../../src/config/validate.js'
import { refusedBy } from '../support/config.js'
import type { Coding } from '../../src/config/compress.js'

const t = suite('filters: compress')
guard(t)
const run = promisify(execFile)

const BODY = json(20_000)
type Answer = (req: IncomingMessage, res: ServerResponse) => void
const answers = new Map<string, Answer>()
let up: HttpUpstream
let px: ProxyHandle

t.before(async () => {
  up = await httpUpstream((req, res) => {
    const a = answers.get(req.url!)
    if (a === undefined) { res.writeHead(404).end(); return }
    a(req, res)
  })
  px = await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', compress: {} }] })
})
t.after(async () => { await px.close(); await up.close() })

let n = 0
/** A path of its own answered with `fields` and `body` (Content-Length unless `chunked`). */
function path(fields: Record<string, string | string[]> = {}, body: Buffer = BODY, status = 200, chunked = false): string {
  const p = `/p${++n}`
  answers.set(p, (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...fields, ...(chunked || status === 204 || status === 304 ? {} : { 'Content-Length': String(body.length) }) })
    if (status === 204 || status === 304) { res.end(); return }
    if (chunked) { res.write(body.subarray(0, 100)); res.end(body.subarray(100)); return }
    res.end(body)
  })
  return p
}

t('negotiation, RFC 9110 §12.5.3: q-values, *, identity, x-gzip, ties by the server order, bad q-values', () => {
  const pick = (v: string, offered: Coding[] = ['br', 'gzip']) => { const a = negotiate(v, offered); return `${a.coding ?? 'identity'}${a.gzip ? '' : ' (no gzip)'}` }
  assert.is(pick('gzip, deflate, br'), 'br')
  assert.is(pick('gzip, deflate, br', ['gzip', 'br']), 'gzip')
  assert.is(pick('gzip'), 'gzip')
  assert.is(pick('br;q=0.5, gzip'), 'gzip')
  assert.is(pick('gzip;q=0.8, br;q=0.8'), 'br')
  assert.is(pick('*'), 'br')
  assert.is(pick('*;q=0.5, gzip;q=0.9'), 'gzip')
  assert.is(pick('br;q=0, *'), 'gzip')
  assert.is(pick('*;q=0'), 'identity (no gzip)')
  assert.is(pick('identity'), 'identity (no gzip)')
  assert.is(pick('identity;q=1, gzip;q=0.5'), 'identity')
  assert.is(pick('identity;q=0.5, gzip;q=0.5'), 'gzip')
  assert.is(pick('gzip;q=0'), 'identity (no gzip)')
  assert.is(pick('identity;q=0'), 'identity (no gzip)')
  assert.is(pick(''), 'identity (no gzip)')
  assert.is(pick(' , '), 'identity (no gzip)')
  assert.is(pick('x-gzip'), 'gzip')
  assert.is(pick('GZIP;Q=0.5'), 'gzip')
  assert.is(pick('gzip;q=abc'), 'identity (no gzip)')
  assert.is(pick('gzip;q=1.5, br;q=0.001'), 'br (no gzip)')
  assert.is(pick('deflate, compress'), 'identity (no gzip)')
  assert.is(pick('gzip;level=1;q=0.3'), 'gzip')
})

t('gzip and br: the decoded bytes are the upstream\'s; Content-Length gone, chunked, Vary and Content-Encoding added', async () => {
  for (const [ae, coding] of [['gzip', 'gzip'], ['br', 'br'], ['gzip, deflate, br', 'br'], ['br;q=0.1, gzip', 'gzip']]) {
    const r = await fetchCoded(px.port, path(), [`Accept-Encoding: ${ae}`])
    assert.is(r.status, 200)
    assert.is(r.h['content-encoding'], coding, ae)
    assert.is(r.h['content-length'], undefined)
    assert.is(r.h['transfer-encoding'], 'chunked')
    assert.is(r.h.vary, 'Accept-Encoding')
    assert.ok(r.complete)
    assert.ok(r.body.length < BODY.length / 3)
    assert.ok(decode(r.body, coding).equals(BODY))
  }
  // The upstream saw the client's Accept-Encoding as it was (we only code what comes back).
  assert.is(up.requests.at(-1)!.headers['accept-encoding'], 'br;q=0.1, gzip')
})

t('curl --compressed gets the upstream\'s bytes', async () => {
  const p = path({ ETag: '"v1"' })
  const { stdout } = await run('curl', ['-s', '--compressed', px.url + p], { encoding: 'buffer', maxBuffer: 1 << 24 })
  assert.ok(stdout.equals(BODY))
  const head = (await run('curl', ['-s', '--compressed', '-o', '/dev/null', '-D', '-', px.url + p], { encoding: 'latin1' })).stdout
  assert.match(head, /content-encoding: br/i)
  assert.match(head, /etag: W\/"v1"/i)
})

t('§8.8.1: a strong ETag is made weak, a weak one stays; Vary is merged, never doubled', async () => {
  let r = await fetchCoded(px.port, path({ ETag: '"abc"', Vary: 'Origin' }), ['Accept-Encoding: gzip'])
  assert.is(r.h.etag, 'W/"abc"')
  assert.is(r.h.vary, 'origin, Accept-Encoding')
  assert.is(r.count.vary, 1)
  r = await fetchCoded(px.port, path({ ETag: 'W/"abc"', Vary: ['Accept-Encoding', 'Origin'] }), ['Accept-Encoding: gzip'])
  assert.is(r.h.etag, 'W/"abc"')
  assert.is(r.h.vary, 'Accept-Encoding, Origin')
  r = await fetchCoded(px.port, path({ Vary: '*', 'Accept-Ranges': 'bytes' }), ['Accept-Encoding: gzip'])
  assert.is(r.h.vary, '*')
  assert.is(r.h['accept-ranges'], undefined)
  assert.is(r.h['content-encoding'], 'gzip')
})

t('identity when the client asks none: no Accept-Encoding, an empty one, identity;q=0 alone, gzip;q=0', async () => {
  for (const f of [[], ['Accept-Encoding:'], ['Accept-Encoding: identity;q=0'], ['Accept-Encoding: gzip;q=0, br;q=0'], ['Accept-Encoding: deflate']]) {
    const r = await fetchCoded(px.port, path({ ETag: '"x"' }), f)
    assert.is(r.h['content-encoding'], undefined, f.join())
    assert.is(r.h['content-length'], String(BODY.length))
    assert.is(r.h.etag, '"x"')
    assert.ok(r.body.equals(BODY))
  }
})

t('not coded: no-transform, a Content-Encoding already, 206 and Content-Range, 204, 304, other types, short bodies; HEAD gets the head GET would', async () => {
  const same = async (p: string, fields: string[] = [], method = 'GET') => {
    const r = await fetchCoded(px.port, p, ['Accept-Encoding: gzip, br', ...fields], { method })
    assert.is(r.h['content-encoding'] === 'gzip' || r.h['content-encoding'] === 'br', false, p)
    return r
  }
  assert.ok((await same(path({ 'Cache-Control': 'public, no-transform' }))).body.equals(BODY))
  const r = await fetchCoded(px.port, path({ 'Content-Encoding': 'br' }), ['Accept-Encoding: gzip, br'])
  assert.is(r.h['content-encoding'], 'br')
  assert.ok(r.body.equals(BODY))
  await same(path({ 'Content-Range': `bytes 0-${BODY.length - 1}/${BODY.length * 2}` }, BODY, 206))
  await same(path({ 'Content-Range': `bytes 0-${BODY.length - 1}/${BODY.length}` }))
  assert.is((await same(path({}, BODY, 204))).status, 204)
  assert.is((await same(path({ ETag: '"e"' }, BODY, 304))).status, 304)
  const head = await fetchCoded(px.port, path(), ['Accept-Encoding: gzip'], { method: 'HEAD' })
  // RFC 9110 §9.3.2: the head GET would get, without content (and so without a length).
  assert.is(head.h['content-length'], undefined)
  assert.is(head.h['content-encoding'], 'gzip')
  assert.is(head.h.vary, 'Accept-Encoding')
  for (const type of ['image/png', 'application/octet-stream', '']) {
    assert.ok((await same(path({ 'Content-Type': type }))).body.equals(BODY), type)
  }
  // min_length (512): a known shorter length goes as it is; one of unknown length is coded.
  assert.is((await same(path({}, BODY.subarray(0, 511)))).h['content-length'], '511')
  const short = await fetchCoded(px.port, path({}, BODY.subarray(0, 511), 200, true), ['Accept-Encoding: gzip'])
  assert.is(short.h['content-encoding'], 'gzip')
  assert.ok(decode(short.body, 'gzip').equals(BODY.subarray(0, 511)))
  const at = await fetchCoded(px.port, path({}, BODY.subarray(0, 512)), ['Accept-Encoding: gzip'])
  assert.is(at.h['content-encoding'], 'gzip')
})

t('types: text/*, +json, +xml, svg, wasm by default; a parameter does not matter', async () => {
  for (const type of ['text/html; charset=utf-8', 'text/css', 'application/problem+json', 'application/atom+xml', 'image/svg+xml', 'application/wasm', 'application/javascript', 'TEXT/PLAIN']) {
    const r = await fetchCoded(px.port, path({ 'Content-Type': type }), ['Accept-Encoding: gzip'])
    assert.is(r.h['content-encoding'], 'gzip', type)
    assert.ok(decode(r.body, 'gzip').equals(BODY))
  }
})

t('an HTTP/1.0 client gets the coded body delimited by our close; a keep-alive HTTP/1.1 client gets chunks, request after request', async () => {
  const r = await fetchCoded(px.port, path(), ['Accept-Encoding: gzip'], { minor: 0 })
  assert.is(r.h['transfer-encoding'], undefined)
  assert.is(r.h['content-length'], undefined)
  assert.is(r.h.connection, 'close')
  assert.ok(r.closed)
  assert.ok(decode(r.body, 'gzip').equals(BODY))
  const c = await RawClient.open(px.port)
  try {
    for (let i = 0; i < 3; i++) {
      c.clear()
      c.send(`GET ${path({}, json(5000 + i * 1000))} HTTP/1.1\r\nHost: spec\r\nAccept-Encoding: br\r\n\r\n`)
      await c.until((s) => s.endsWith('\r\n0\r\n\r\n'))
      const got = parse(c.data)
      assert.is(got.h['content-encoding'], 'br')
      assert.ok(decode(got.body, 'br').equals(json(5000 + i * 1000)))
    }
    assert.not.ok(c.closed)
  } finally { c.destroy() }
})

t('a route without compress is untouched; levels and codings come from the config', async () => {
  const px2 = await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [
    { path: '/plain', upstream: 'u' },
    { upstream: 'u', compress: { codings: ['gzip'], levels: { gzip: 1 } } },
  ] })
  try {
    const p = path()
    answers.set('/plain', answers.get(p)!)
    const plain = await fetchCoded(px2.port, '/plain', ['Accept-Encoding: gzip, br'])
    assert.is(plain.h['content-encoding'], undefined)
    assert.ok(plain.body.equals(BODY))
    const r = await fetchCoded(px2.port, p, ['Accept-Encoding: br, gzip'])
    assert.is(r.h['content-encoding'], 'gzip')
    // Byte 8 of a gzip header (RFC 1952 §2.3.1, XFL): 4 for the fastest level.
    assert.is(r.body[8], 4)
    assert.ok(decode(r.body, 'gzip').equals(BODY))
  } finally { await px2.close() }
})

t('config: defaults, every key, and refusals with the field path', () => {
  const base = { listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } } }
  const c = validate({ ...base, routes: [{ upstream: 'u', compress: {} }] }).routes[0].features.compress!
  assert.equal(c.codings, ['br', 'gzip'])
  assert.is(c.gzip_level, 6)
  assert.is(c.br_quality, 4)
  assert.is(c.min_length, 512)
  assert.ok(c.types.includes('text/*') && c.types.includes('+json'))
  assert.is(c.decode, true)
  const d = validate({ ...base, defaults: { compress: { codings: ['GZIP'], levels: { gzip: 9, br: 11 }, types: ['Text/HTML', '+json'], min_length: '1k', decode: false, copies_max_size: '1m' } }, routes: [{ upstream: 'u' }, { upstream: 'u', compress: false }] })
  assert.is(d.routes[0].features.compress, undefined)
  const dc = d.defaults.compress!
  assert.equal([dc.codings, dc.gzip_level, dc.br_quality, dc.types, dc.min_length, dc.decode, dc.copies_max_size], [['gzip'], 9, 11, ['text/html', '+json'], 1024, false, 1048576])
  assert.is(d.routes[1].features.compress, null)
  const bad = (compress: unknown, msg: string) => refusedBy(() => validate({ ...base, routes: [{ upstream: 'u', compress }] }), msg)
  bad({ codings: ['zstd'] }, 'routes[0].compress.codings[0]: must be one of: br, gzip')
  bad({ codings: [] }, 'routes[0].compress.codings: needs at least one coding (or turn compression off with `compress: false`)')
  bad({ codings: ['gzip', 'gzip'] }, 'routes[0].compress.codings: names a coding twice')
  bad({ levels: { gzip: 0 } }, 'routes[0].compress.levels.gzip: must be an integer from 1 to 9')
  bad({ levels: { br: 12 } }, 'routes[0].compress.levels.br: must be an integer from 0 to 11')
  bad({ levels: { deflate: 1 } }, 'routes[0].compress.levels.deflate: unknown field (expected one of: br, gzip)')
  bad({ types: ['json'] }, 'routes[0].compress.types[0]: must be a media type such as text/html, text/* or +json')
  bad({ types: 'text/html' }, 'routes[0].compress.types: must be a list')
  bad({ min_length: 'big' }, 'routes[0].compress.min_length: must be a size in bytes such as 1048576, 512k, 10m or 1g')
  bad({ decode: 'yes' }, 'routes[0].compress.decode: must be true or false')
  bad({ level: 6 }, 'routes[0].compress.level: unknown field (expected one of: codings, levels, types, min_length, decode, copies_max_size)')
})

t.run()
