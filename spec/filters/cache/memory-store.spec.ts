// The memory store on its own: variants replace each other only when their selecting fields agree,
// the byte budget drops whole entries from the least recently used end, fills that fail leave nothing.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { MemoryStore } from '../../../src/filters/cache/memory-store.js'
import { Entry } from '../../../src/filters/cache/entry.js'
import { headOf } from '../../../src/filters/cache/stored-head.js'
import type { ContentSink } from '../../../src/proxy/content.js'

const t = suite('filters: cache memory store')
const H = { percent: 10, max: 86_400_000 }

function entry(key: string, variant: string, length: number): Entry {
  return new Entry(key, headOf(200, 'OK', [['Cache-Control', 'max-age=60']]), [], variant, Date.now(), Date.now(), H, length, 0)
}

function fillWith(s: MemoryStore, e: Entry, body: string): void {
  const f = s.begin(e)!
  f.write(Buffer.from(body))
  f.end()
}

function read(s: MemoryStore, e: Entry, start = 0, end = -1): string {
  let out = ''
  const sink: ContentSink = { data: (b) => { out += b.toString(); return true }, end: () => {}, abort: () => {} }
  s.content(e).read(sink, start, end)
  return out
}

t('variants of a key live side by side; one of the same variant replaces the other', () => {
  const s = new MemoryStore(1 << 20, 1 << 16)
  const a = entry('k', 'a', 3)
  const b = entry('k', 'b', 3)
  fillWith(s, a, 'aaa')
  fillWith(s, b, 'bbb')
  assert.is(s.lookup('k').length, 2)
  const a2 = entry('k', 'a', 4)
  fillWith(s, a2, 'AAAA')
  assert.equal(s.lookup('k').map((e) => e.variant).sort(), ['a', 'b'])
  assert.ok(a.gone)
  assert.is(read(s, a2), 'AAAA')
  assert.is(read(s, a2, 1, 3), 'AA')
  assert.is(s.stats().entries, 2)
})

t('the budget drops whole entries, least recently used first; a touch keeps one', () => {
  const s = new MemoryStore(7000, 2048) // three entries of ~2.1k fit, not four
  const es: Entry[] = []
  for (let i = 0; i < 3; i++) { const e = entry(`k${i}`, '', 1000); fillWith(s, e, 'x'.repeat(1000)); es.push(e) }
  s.touch(es[0])
  const last = entry('k3', '', 1000)
  fillWith(s, last, 'y'.repeat(1000))
  assert.ok(!es[0].gone, 'touched: kept')
  assert.ok(es[1].gone, 'the least recently used: dropped')
  assert.ok(s.stats().bytes <= 7000)
  assert.ok(s.stats().evicted >= 1)
})

t('an entry of unknown length enters the store once complete; over max_object_size it never does', () => {
  const s = new MemoryStore(1 << 20, 10)
  const e = entry('u', '', -1)
  const f = s.begin(e)!
  f.write(Buffer.from('12345'))
  assert.is(s.lookup('u').length, 0)
  f.write(Buffer.from('678'))
  f.end()
  assert.is(s.lookup('u').length, 1)
  assert.is(read(s, e), '12345678')
  const big = entry('b', '', -1)
  const g = s.begin(big)!
  assert.ok(g.write(Buffer.from('1234567890')))
  assert.not.ok(g.write(Buffer.from('1')))
  assert.is(s.lookup('b').length, 0)
  assert.is(s.begin(entry('c', '', 11)), null, 'a known length over the limit is never begun')
})

t('a failed fill leaves nothing, and its readers are cut; removeKey and removePrefix count what they drop', () => {
  const s = new MemoryStore(1 << 20, 1 << 16)
  const e = entry('http://h/a', '', 10)
  const f = s.begin(e)!
  let cut = ''
  f.read({ data: () => true, end: () => {}, abort: (r) => { cut = r } }, 0, -1)
  f.write(Buffer.from('12345'))
  f.fail('peer reset')
  assert.is(cut, 'peer reset')
  assert.is(s.lookup('http://h/a').length, 0)
  assert.is(s.stats().entries, 0)
  for (const k of ['http://h/a', 'http://h/a/b', 'http://h/c']) fillWith(s, entry(k, '', 1), 'z')
  assert.is(s.removePrefix('http://h/a'), 2)
  assert.is(s.removeKey('http://h/c'), 1)
  assert.is(s.stats().entries, 0)
  assert.is(s.stats().bytes, 0)
})

t.run()
