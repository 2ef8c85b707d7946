/**
 * buildHead: a head rebuilt from spans keeps the received field lines byte for byte (case, order,
 * whitespace), minus the dropped ones, plus our lines. Heads come from the real parser, whole and cut
 * at every offset (a cut head is rebuilt from the parser's join buffer).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { Kind, Parser, Step, methodName } from '../../src/http/llhttp.js'
import { Head, NameSet } from '../../src/http/head.js'
import { buildHead } from '../../src/http/serialize.js'

const FIXTURES = new URL('../../../fixtures/', import.meta.url)
const LIMITS = { maxHead: 16_384, maxTarget: 8_192 }
const NONE = new NameSet([])

type Build = (h: Head, kind: Kind) => Buffer

/** The start line as received (single SP, as in the fixtures), then the fields as `buildHead` keeps them. */
function rebuild(drop: NameSet, tokens: string[] | null, extra: string): Build {
  return (h, kind) => {
    const v = `HTTP/${h.major}.${h.minor}`
    return kind === Kind.REQUEST
      ? buildHead(h, `${methodName(h.method)} `, h.spans[0], h.spans[1], ` ${v}\r\n`, drop, tokens, extra)
      : buildHead(h, `${v} ${h.status} `, h.spans[0], h.spans[1], '\r\n', drop, tokens, extra)
  }
}

interface Heads {
  /** `build` applied to each head when the parser reports it. */
  built: string[]
  /** Each head's bytes as received, [start, end) in the input (for whole input only). */
  spans: [number, number][]
}

/** Parses `chunks` and rebuilds every head the moment it is complete, before the next chunk. */
function heads(kind: Kind, chunks: Buffer[], build: Build, skipBody = false): Heads {
  const p = new Parser(kind, LIMITS)
  p.skipBody = skipBody
  const out: Heads = { built: [], spans: [] }
  let start = 0
  for (const c of chunks) {
    for (let from = 0; ;) {
      const step = p.execute(c, from)
      assert.ok(step !== Step.ERROR, p.error?.message)
      if (p.headDone) { out.built.push(build(p.head, kind).toString('latin1')); out.spans.push([start, p.pos]) }
      if (step === Step.MORE || step === Step.UPGRADE) break
      if (step === Step.END) start = p.pos
      from = p.pos
      p.resume()
    }
  }
  p.destroy()
  return out
}

function cut(b: Buffer, i: number): Buffer[] {
  return [Buffer.from(b.subarray(0, i)), Buffer.from(b.subarray(i))]
}

/** One request head from `lines` (CRLF-joined, blank line added), rebuilt with `build`. */
function one(lines: string[], build: Build): string {
  return heads(Kind.REQUEST, [Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1')], build).built[0]
}

const t = suite('serialize')

const FILES: [string, Kind, boolean][] = [
  ['requests/get-simple.http', Kind.REQUEST, false],
  ['requests/header-edges.http', Kind.REQUEST, false],
  ['requests/post-chunked-trailers.http', Kind.REQUEST, false],
  ['requests/pipelined-three.http', Kind.REQUEST, false],
  ['requests/http10.http', Kind.REQUEST, false],
  ['requests/absolute-options.http', Kind.REQUEST, false],
  ['requests/upgrade-websocket.http', Kind.REQUEST, false],
  ['responses/200-content-length.http', Kind.RESPONSE, false],
  ['responses/100-then-200.http', Kind.RESPONSE, false],
  ['responses/204-304-200.http', Kind.RESPONSE, false],
  ['responses/head-response.http', Kind.RESPONSE, true],
  ['responses/101-upgrade.http', Kind.RESPONSE, false],
]

for (const [file, kind, skip] of FILES) {
  t(`${file}: every head rebuilds byte for byte, whole and cut at every offset`, () => {
    const b = readFileSync(new URL(file, FIXTURES))
    const keepAll = rebuild(NONE, null, '')
    const whole = heads(kind, [b], keepAll, skip)
    assert.ok(whole.built.length > 0)
    assert.equal(whole.built, whole.spans.map(([s, e]) => b.toString('latin1', s, e)), 'the received bytes')
    for (let i = 1; i < b.length; i++) assert.equal(heads(kind, cut(b, i), keepAll, skip).built, whole.built, `cut at ${i}`)
  })
}

t('a cut head with drops, Connection tokens and extra lines is the same as the whole one', () => {
  const b = readFileSync(new URL('requests/header-edges.http', FIXTURES))
  const build = rebuild(new NameSet(['x-empty', 'x-lead', 'x-last-empty']), ['x-tab', 'host'], 'Via: 1.1 test\r\n')
  const whole = heads(Kind.REQUEST, [b], build).built
  assert.is(whole[0], 'GET /edges HTTP/1.1\r\nX-Blank:    \r\nX-Trail: value with trailing space  \t \r\n' +
    `X-Obs-Text: caf\xe9\r\nx-MiXeD-CaSe: Keep\r\nX-Very-Long-Header-Name-For-Splitting-Purposes: ${'v'.repeat(40)}\r\n` +
    'Via: 1.1 test\r\n\r\n')
  for (let i = 1; i < b.length; i++) assert.equal(heads(Kind.REQUEST, cut(b, i), build).built, whole, `cut at ${i}`)
  const bytes = [...b].map((x) => Buffer.from([x]))
  assert.equal(heads(Kind.REQUEST, bytes, build).built, whole, 'byte by byte')
})

t('case and order are kept; dropped names go wherever they are', () => {
  const build = rebuild(new NameSet(['x-drop', 'keep-alive']), null, '')
  const got = one(['GET /o HTTP/1.1', 'X-Drop: first', 'Host: a', 'x-MiXeD: 2', 'X-DROP: mid', 'x-drop: run',
    'Keep-Alive: timeout=5', 'X-Last: 3', 'X-Drop: last'], build)
  assert.is(got, 'GET /o HTTP/1.1\r\nHost: a\r\nx-MiXeD: 2\r\nX-Last: 3\r\n\r\n')
})

t('fields named by Connection are dropped, in any case and every occurrence', () => {
  // RFC 9110 §7.6.1: the Connection options are hop-by-hop. Connection itself is in the drop set.
  const build = rebuild(new NameSet(['connection']), ['x-secret', 'close'], '')
  const got = one(['GET / HTTP/1.1', 'Host: a', 'Connection: close, X-Secret', 'X-SECRET: 1', 'X-Public: 2', 'x-secret: 3'], build)
  assert.is(got, 'GET / HTTP/1.1\r\nHost: a\r\nX-Public: 2\r\n\r\n')
})

t('extra lines are appended after the kept fields; with nothing kept, only they remain', () => {
  const extra = 'X-Forwarded-For: 127.0.0.1\r\nVia: 1.1 rawproxy\r\n'
  assert.is(one(['GET / HTTP/1.1', 'Host: a', 'Accept: */*'], rebuild(NONE, null, extra)),
    `GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n${extra}\r\n`)
  assert.is(one(['GET / HTTP/1.1', 'Host: a'], rebuild(new NameSet(['host']), null, extra)), `GET / HTTP/1.1\r\n${extra}\r\n`)
  assert.is(one(['GET / HTTP/1.1'], rebuild(NONE, null, '')), 'GET / HTTP/1.1\r\n\r\n')
})

t('an empty value before a dropped field does not end the head early', () => {
  // llhttp reports an empty value where the next line starts; a copy that ended there would carry
  // this field's CRLF and then add another: a blank line, the end of the head for the peer.
  const build = rebuild(new NameSet(['connection', 'x-drop']), null, 'Via: 1.1 t\r\n')
  for (const empty of ['X-Empty:', 'X-Empty: ', 'X-Empty:\t \t']) {
    const got = one(['GET / HTTP/1.1', 'Host: a', empty, 'Connection: keep-alive', 'X-After: 1', empty, 'X-Drop: 2'], build)
    assert.is(got, `GET / HTTP/1.1\r\nHost: a\r\n${empty}\r\nX-After: 1\r\n${empty}\r\nVia: 1.1 t\r\n\r\n`, JSON.stringify(empty))
  }
})

t('a head with many fields (past the scratch size) keeps every other one', () => {
  const lines = ['GET / HTTP/1.1', 'Host: a']
  for (let i = 0; i < 150; i++) lines.push(i % 2 === 0 ? `X-Keep-${i}: ${i}` : `X-Drop: ${i}`)
  const got = one(lines, rebuild(new NameSet(['x-drop']), null, ''))
  assert.is(got, [...lines.filter((l) => !l.startsWith('X-Drop')), '', ''].join('\r\n'))
})

t.run()
