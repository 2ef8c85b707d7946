/**
 * The disk store on a real directory: entries written through their Fill as the content arrives,
 * read back from the file (ranges, backpressure), replaced, purged, evicted, found again by a new
 * store on the same path (a restart, another worker), and every fault a miss: damaged files, a
 * fill that fails, an object too large, a path that cannot be written.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, truncateSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { request } from 'node:http'
import { join } from 'node:path'
import { DiskStore } from '../../../src/filters/cache/disk-store.js'
import { Entry } from '../../../src/filters/cache/entry.js'
import { headOf, fieldsOf } from '../../../src/filters/cache/stored-head.js'
import { keyHash } from '../../../src/filters/cache/disk-format.js'
import { name } from '../../../src/http/head.js'
import type { Content } from '../../../src/proxy/content.js'
import { httpUpstream, sleep, startProxy } from '../../support/harness.js'
import { EventLog } from '../../../src/log/events.js'
import { validate } from '../../../src/config/validate.js'
import { storeFor } from '../../../src/filters/cache/stores.js'

const t = suite('cache: the disk store')
const H = { percent: 10, max: 86_400_000 }
const MB = 1 << 20
const dirs: string[] = []
const stores: DiskStore[] = []

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rawproxy-disk-'))
  dirs.push(d)
  return d
}

function store(path: string, maxSize = 16 * MB, maxObject = 4 * MB): DiskStore {
  const s = new DiskStore(path, maxSize, maxObject)
  stores.push(s)
  return s
}

t.after(async () => {
  for (const s of stores) { s.close(); await s.idle() }
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

/** An entry fresh for 600 s, unless `fields` has a Last-Modified: then a heuristic lifetime (RFC 9111 §4.2.2). */
function entry(key: string, length: number, variant = '', fields: [string, string][] = []): Entry {
  const cc: [string, string][] = fields.some(([n]) => n === 'Last-Modified') ? [] : [['Cache-Control', 'max-age=600']]
  const head = headOf(200, 'OK', [...cc, ['Content-Type', 'text/plain'], ...fields])
  const now = Date.now()
  return new Entry(key, head, variant === '' ? [] : ['accept-language'], variant, now - 5, now, H, length, 0)
}

function body(n: number, seed = 0): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff
  return b
}

/** Stores `data` under `key` in pieces, as a peer's response would arrive; resolves when on disk. */
async function put(s: DiskStore, key: string, data: Buffer, opts: { variant?: string; chunked?: boolean; fields?: [string, string][] } = {}): Promise<Entry> {
  const e = entry(key, opts.chunked === true ? -1 : data.length, opts.variant, opts.fields)
  const f = s.begin(e)!
  for (let i = 0; i < data.length; i += 10_000) assert.ok(f.write(data.subarray(i, i + 10_000)))
  f.end()
  await s.idle()
  return e
}

/**
 * Reads a content through a sink that refuses more every `every` chunks and resumes a little later;
 * `early` counts the bytes pushed while it was full (backpressure not honoured).
 */
function read(c: Content, start = 0, end = -1, every = 0): Promise<{ data: Buffer; aborted: string | null; pauses: number; early: number }> {
  return new Promise((done) => {
    const parts: Buffer[] = []
    let pauses = 0
    let full = false
    let early = 0
    const r = c.read({
      data: (b) => {
        if (full) early += b.length
        parts.push(Buffer.from(b))
        if (every === 0 || parts.length % every !== 0) return true
        pauses++
        full = true
        setTimeout(() => { full = false; r.resume() }, 2)
        return false
      },
      end: () => done({ data: Buffer.concat(parts), aborted: null, pauses, early }),
      abort: (reason) => done({ data: Buffer.concat(parts), aborted: reason, pauses, early }),
    }, start, end)
  })
}

/** Every file under `d`, as paths relative to it. */
function files(d: string): string[] {
  return readdirSync(d, { recursive: true, withFileTypes: true }).filter((x) => x.isFile()).map((x) => join(x.parentPath ?? x.path, x.name).slice(d.length + 1))
}

t('a fill is written as it arrives, renamed into place, and read back from the file, whole, in ranges, with backpressure', async () => {
  const d = dir()
  const s = store(d)
  const data = body(200_000)
  const e = await put(s, 'http://a.test/x', data)
  const f = files(d)
  assert.is(f.length, 1)
  assert.match(f[0], /^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{32}\.[0-9a-f]{16}\.[0-9a-f]{18}$/)
  assert.is(e.body, null, 'the content is no longer held in memory')
  const [found] = await s.lookup('http://a.test/x')
  assert.is(found, e)
  assert.ok(Buffer.from(data).equals((await read(s.content(e))).data))
  const slow = await read(s.content(e), 0, -1, 1)
  assert.ok(slow.data.equals(data))
  assert.is(slow.pauses, 4, 'one pause per 64 KiB read, each resumed')
  assert.is(slow.early, 0, 'nothing read while the client was full')
  assert.ok((await read(s.content(e), 70_000, 70_010)).data.equals(data.subarray(70_000, 70_010)))
  assert.ok((await read(s.content(e), 199_990, -1)).data.equals(data.subarray(199_990)))
  assert.is((await read(s.content(e), 5, 5)).data.length, 0)
  assert.equal(s.stats(), { entries: 1, bytes: statSync(join(d, f[0])).size, evicted: 0, faults: 0 })
})

t('a new store on the same path (a restart) finds the entry, with the same head and content; a chunked one gets its length', async () => {
  const d = dir()
  const s = store(d)
  const a = await put(s, 'http://a.test/a', body(1000), { fields: [['ETag', '"v1"']] })
  await put(s, 'http://a.test/chunked', body(70_000, 3), { chunked: true })
  const old = new Date(Date.now() - 100_000_000).toUTCString()
  const h = await put(s, 'http://a.test/h', body(10), { fields: [['Last-Modified', old]] })
  assert.ok(h.lifetime > 9_000_000, 'a tenth of the time since Last-Modified')
  s.close()
  const again = store(d)
  const [e] = await again.lookup('http://a.test/a')
  assert.equal(fieldsOf(e.head), fieldsOf(a.head))
  assert.is(e.status, 200)
  assert.is(e.etag, '"v1"')
  assert.is(e.lifetime, a.lifetime)
  assert.is(e.responseTime, a.responseTime)
  assert.ok((await read(again.content(e))).data.equals(body(1000)))
  const [c] = await again.lookup('http://a.test/chunked')
  assert.is(c.length, 70_000)
  assert.ok((await read(again.content(c))).data.equals(body(70_000, 3)))
  assert.is((await again.lookup('http://a.test/h'))[0].lifetime, h.lifetime, 'the lifetime it was given, not one computed again')
  await again.idle()
  assert.is(again.stats().entries, 3, 'the scan counts them all')
})

t('a variant replaces the stored one of the same variant once complete; another variant is kept beside it', async () => {
  const d = dir()
  const s = store(d)
  await put(s, 'http://a.test/v', body(100, 1), { variant: 'en' })
  await put(s, 'http://a.test/v', body(100, 2), { variant: 'fr' })
  const e = await put(s, 'http://a.test/v', body(100, 3), { variant: 'en' })
  assert.is(files(d).length, 2)
  const list = await s.lookup('http://a.test/v')
  assert.equal(list.map((x) => x.variant).sort(), ['en', 'fr'])
  assert.ok((await read(s.content(list.find((x) => x.variant === 'en')!))).data.equals(body(100, 3)))
  assert.is(list.find((x) => x.variant === 'en'), e)
  const other = store(d)
  assert.equal((await other.lookup('http://a.test/v')).map((x) => x.variant).sort(), ['en', 'fr'])
})

t('an entry another store (another worker) writes, replaces or removes is seen at the next lookup', async () => {
  const d = dir()
  const a = store(d)
  const b = store(d)
  await b.idle()
  assert.equal(await b.lookup('http://a.test/w'), [])
  await put(a, 'http://a.test/w', body(10, 1))
  const [seen] = await b.lookup('http://a.test/w')
  assert.ok((await read(b.content(seen))).data.equals(body(10, 1)))
  await sleep(2)
  await put(a, 'http://a.test/w', body(10, 2))
  const [next] = await b.lookup('http://a.test/w')
  assert.ok(seen.gone, 'the replaced one is gone from the index')
  assert.ok((await read(b.content(next))).data.equals(body(10, 2)))
  assert.is(a.removeKey('http://a.test/w'), 1)
  await sleep(20)
  assert.equal(await b.lookup('http://a.test/w'), [])
  assert.is(b.stats().entries, 0)
  await put(b, 'http://a.test/other', body(10))
  assert.is(a.removeKey('http://a.test/other'), 0, 'not known to this store')
  await sleep(20)
  assert.equal(files(d), [], 'but its file is removed')
})

t('removeKey and removePrefix remove the files; a new store finds nothing', async () => {
  const d = dir()
  const s = store(d)
  await put(s, 'http://a.test/p/1', body(10))
  await put(s, 'http://a.test/p/2', body(10), { variant: 'en' })
  await put(s, 'http://a.test/p/2', body(10), { variant: 'fr' })
  await put(s, 'http://a.test/q', body(10))
  assert.is(s.removePrefix('http://a.test/p/'), 3)
  assert.is(s.removeKey('http://a.test/nothing'), 0)
  await sleep(20)
  assert.is(files(d).length, 1)
  assert.is(s.stats().entries, 1)
  assert.equal(await store(d).lookup('http://a.test/p/2'), [])
  assert.is(s.removeKey('http://a.test/q'), 1)
  await sleep(20)
  assert.is(files(d).length, 0)
})

t('a purge by prefix reaches the files a restarted store has not scanned yet', async () => {
  const d = dir()
  const s = store(d)
  await put(s, 'http://a.test/s/1', body(10))
  s.close()
  const again = store(d)
  again.removePrefix('http://a.test/s/')
  await again.idle()
  await sleep(20)
  assert.is(files(d).length, 0)
  assert.is(again.stats().entries, 0)
})

t('over max_size, the least recently used entries go first; a restart orders by mtime', async () => {
  const d = dir()
  const s = store(d, 5000, 2000)
  const keys = ['k0', 'k1', 'k2', 'k3', 'k4'].map((k) => `http://a.test/${k}`)
  for (const k of keys.slice(0, 3)) await put(s, k, body(1200))
  assert.is(s.stats().evicted, 0, 'three fit')
  s.touch((await s.lookup(keys[0]))[0])
  await put(s, keys[3], body(1200))
  await put(s, keys[4], body(1200))
  assert.ok(s.stats().bytes <= 5000)
  assert.is(s.stats().evicted, 2)
  await sleep(20)
  assert.is(files(d).length, 3)
  assert.is((await s.lookup(keys[0])).length, 1, 'touched: kept')
  assert.equal(await s.lookup(keys[1]), [])
  assert.equal(await s.lookup(keys[2]), [])
  s.close()
  const small = store(d, 3000, 2000)
  await small.idle()
  assert.is(small.stats().entries, 2)
  assert.is(small.stats().evicted, 1)
})

t('what a restarted store scans is older than what it stores meanwhile: evicted first', async () => {
  const d = dir()
  const s = store(d)
  await put(s, 'http://a.test/o1', body(1200))
  await put(s, 'http://a.test/o2', body(1200))
  s.close()
  const again = store(d, 4000, 2000)
  await put(again, 'http://a.test/new', body(1200))
  assert.is(again.stats().evicted, 1)
  assert.is((await again.lookup('http://a.test/new')).length, 1)
  assert.is((await again.lookup('http://a.test/o1')).length + (await again.lookup('http://a.test/o2')).length, 1)
})

t('a damaged file (bad magic, bad meta, short content) is a miss, counted, and removed', async () => {
  const d = dir()
  const s = store(d)
  await put(s, 'http://a.test/m', body(100))
  await put(s, 'http://a.test/j', body(100))
  await put(s, 'http://a.test/t', body(100))
  s.close()
  const path = (k: string): string => join(d, files(d).find((f) => f.includes(keyHash(k)))!)
  const m = path('http://a.test/m')
  writeFileSync(m, Buffer.concat([Buffer.from('XXXX'), readFileSync(m).subarray(4)]))
  const j = path('http://a.test/j')
  const raw = readFileSync(j)
  raw[24] = 0x20
  raw[25] = 0x7b
  writeFileSync(j, raw)
  truncateSync(path('http://a.test/t'), statSync(path('http://a.test/t')).size - 1)
  const again = store(d)
  assert.equal(await again.lookup('http://a.test/m'), [])
  assert.equal(await again.lookup('http://a.test/j'), [])
  assert.equal(await again.lookup('http://a.test/t'), [])
  await again.idle()
  assert.is(files(d).length, 0)
  assert.ok(again.stats().faults >= 3)
})

t('a file removed after the lookup cuts the read (the head is out)', async () => {
  const d = dir()
  const s = store(d)
  const e = await put(s, 'http://a.test/r', body(100))
  for (const f of files(d)) rmSync(join(d, f))
  const r = await read(s.content(e))
  assert.type(r.aborted, 'string')
  assert.is(s.stats().entries, 0, 'forgotten')
  assert.is(s.stats().faults, 0, 'not a fault: another worker removed it')
})

t('a fill that fails, or grows past max_object_size, leaves no file and no temp; its readers are cut', async () => {
  const d = dir()
  const s = store(d, 16 * MB, 1000)
  const e = entry('http://a.test/f', 500)
  const f = s.begin(e)!
  f.write(body(200))
  await sleep(10)
  const reader = read(f)
  f.fail('the peer died')
  assert.type((await reader).aborted, 'string')
  const big = s.begin(entry('http://a.test/big', -1))!
  assert.ok(big.write(body(600)))
  await sleep(10)
  assert.not.ok(big.write(body(600)), 'crossed max_object_size')
  assert.is(s.begin(entry('http://a.test/huge', 5000)), null, 'announced too large')
  await s.idle()
  assert.equal(files(d), [])
  assert.equal(await s.lookup('http://a.test/f'), [])
  assert.equal(await s.lookup('http://a.test/big'), [])
  assert.is(s.stats().faults, 0)
})

t('a path that cannot be written (its parent is a file: refused even to root) is a fault and a miss, never a throw', async () => {
  const d = dir()
  writeFileSync(join(d, 'file'), 'x')
  const s = store(join(d, 'file', 'cache'))
  const told: unknown[] = []
  s.onFault = (err) => told.push(err)
  const e = entry('http://a.test/x', 10)
  const f = s.begin(e)!
  const reader = read(f)
  f.write(body(10))
  f.end()
  assert.ok((await reader).data.equals(body(10)), 'a reader of the fill is not disturbed')
  await s.idle()
  assert.equal(await s.lookup('http://a.test/x'), [])
  assert.ok(s.stats().faults >= 2, 'the scan, the write and the lookup')
  assert.is(told.length, s.stats().faults, 'each fault is told to the zone registry, which logs one line per outage')
  assert.is(s.stats().entries, 0)
})

t('a zone on a disk that fails logs one line for the outage, not one per fault', async () => {
  const d = dir()
  writeFileSync(join(d, 'file'), 'x')
  const logFile = join(d, 'events.log')
  const events = new EventLog({ path: logFile, format: 'text' })
  const cfg = validate({ listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } }, routes: [{ upstream: 'u', cache: { zone: 'spec-disk-fault', store: { disk: { path: join(d, 'file', 'cache') } } } }] })
  const s = storeFor(cfg.routes[0].features.cache!, events) as DiskStore
  stores.push(s)
  for (let i = 0; i < 3; i++) {
    const f = s.begin(entry(`http://a.test/${i}`, 10))!
    f.write(body(10))
    f.end()
  }
  await s.idle()
  events.flushSync()
  const lines = readFileSync(logFile, 'utf8').split('\n').filter((l) => /cache store fault/.test(l))
  assert.is(lines.length, 1)
  assert.match(lines[0], /zone=spec-disk-fault/)
  assert.ok(s.stats().faults >= 3)
})

t('a 304 rewrites the head; the content is kept; a new store reads the new head', async () => {
  const d = dir()
  const s = store(d)
  const e = await put(s, 'http://a.test/u', body(90_000), { fields: [['ETag', '"1"']] })
  e.refresh(headOf(200, 'OK', [['Cache-Control', 'max-age=900'], ['ETag', '"1"'], ['X-New', 'yes']]), Date.now(), Date.now(), 0, H)
  s.update(e)
  await s.idle()
  await sleep(20)
  assert.is(files(d).length, 1)
  assert.ok((await read(s.content(e))).data.equals(body(90_000)))
  const other = store(d)
  const [back] = await other.lookup('http://a.test/u')
  assert.is(back.head.get(name('x-new')), 'yes')
  assert.is(back.lifetime, 900_000)
  assert.ok((await read(other.content(back))).data.equals(body(90_000)))
})

t.run()

const e2e = suite('cache: the disk store behind a proxy')

e2e('a GET is stored on disk, the next is a hit with the same body, and a restarted proxy on the path serves it as a hit', async () => {
  const d = dir()
  const payload = body(100_000, 9).toString('base64')
  const up = await httpUpstream((_req, res) => { res.setHeader('Cache-Control', 'max-age=600'); res.end(payload) })
  const proxy = (zone: string): ReturnType<typeof startProxy> => startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ upstream: 'u', cache: { zone, store: { disk: { path: d, max_size: '16m' } } } }],
  })
  // One Host for both proxies (their ports differ): the key is scheme, host, path and query.
  const get = (port: number): Promise<{ status: string; text: string }> => new Promise((done, fail) => {
    request({ port, host: '127.0.0.1', path: '/page?x=1', headers: { host: 'a.test' } }, (res) => {
      let text = ''
      res.setEncoding('latin1')
      res.on('data', (c: string) => { text += c })
      res.on('end', () => done({ status: String(res.headers['cache-status'] ?? ''), text }))
    }).on('error', fail).end()
  })
  const a = await proxy('disk-e2e-a')
  try {
    const first = await get(a.port)
    assert.match(first.status, /fwd=uri-miss/)
    assert.match(first.status, /stored/)
    assert.is(first.text, payload)
    await waitFiles(d, 1)
    const second = await get(a.port)
    assert.match(second.status, /hit/)
    assert.is(second.text, payload)
  } finally {
    await a.close()
  }
  // Another zone: a store of its own on the same path, as after a restart or in another worker.
  const b = await proxy('disk-e2e-b')
  try {
    const third = await get(b.port)
    assert.match(third.status, /hit/)
    assert.is(third.text, payload)
    assert.is(up.requests.length, 1)
  } finally {
    await b.close()
    await up.close()
  }
})

async function waitFiles(d: string, n: number): Promise<void> {
  for (let i = 0; i < 100 && files(d).filter((f) => !f.includes('.tmp.')).length < n; i++) await sleep(5)
}

e2e.run()
