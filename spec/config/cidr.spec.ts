import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { isIP } from 'node:net'
import { writeFileSync, chmodSync } from 'node:fs'
import { CidrList, CidrTable, parseCidr, parseIp } from '../../src/config/cidr.js'
import { readCidrFile } from '../../src/config/cidr-file.js'
import { ConfigError } from '../../src/config/validate.js'
import { prng, randomAddresses, randomEntries } from '../../bench/micro/cidr.js'
import { tempFile } from '../support/harness.js'

const t = suite('config/cidr')

// ---- The naive reference: 128-bit BigInts, IPv4 as ::ffff:a.b.c.d, a linear scan ----

const MAPPED = 0xffff00000000n
const ALL = (1n << 128n) - 1n

function big(addr: string): bigint | null {
  const kind = isIP(addr)
  if (kind === 4) return MAPPED | addr.split('.').reduce((n, p) => (n << 8n) | BigInt(p), 0n)
  if (kind !== 6 || addr.includes('%')) return null
  let s = addr
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s)
  if (v4 !== null) {
    const n = big(v4[1])! & 0xffffffffn
    s = s.slice(0, -v4[1].length) + (n >> 16n).toString(16) + ':' + (n & 0xffffn).toString(16)
  }
  const [head, tail] = s.split('::')
  const h = head === '' ? [] : head.split(':')
  const tl = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl]
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n)
}

interface Ref { base: bigint; mask: bigint; len: number }

function ref(cidr: string): Ref {
  const [a, b] = cidr.split('/')
  const v4 = isIP(a) === 4
  const len = (b === undefined ? (v4 ? 32 : 128) : Number(b)) + (v4 ? 96 : 0)
  const mask = ALL ^ ((1n << BigInt(128 - len)) - 1n)
  return { base: big(a)! & mask, mask, len }
}

/** The value of the longest prefix holding `addr`; among equal ones the later. */
function naive(refs: Ref[], addr: string): number | undefined {
  const a = big(addr)
  let best = -1
  for (let i = 0; i < refs.length; i++) if ((a! & refs[i].mask) === refs[i].base && (best < 0 || refs[i].len >= refs[best].len)) best = i
  return best < 0 ? undefined : best
}

/** A 128-bit number as text: dotted when IPv4-mapped (so it is looked up as IPv4), else eight groups. */
function text(n: bigint): string {
  if (n >> 32n === 0xffffn) return [24n, 16n, 8n, 0n].map((s) => (n >> s) & 255n).join('.')
  return Array.from({ length: 8 }, (_, i) => ((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16)).join(':')
}

// ---- Parsing ----

t('parseIp: IPv4 dotted quads, strictly', () => {
  assert.is(parseIp('0.0.0.0'), 0)
  assert.is(parseIp('255.255.255.255'), 0xffffffff)
  assert.is(parseIp('10.1.2.3'), 0x0a010203)
  assert.is(parseIp('192.168.0.10'), 0xc0a8000a)
  for (const bad of ['010.1.1.1', '1.2.3.04', '00.1.2.3', '256.1.1.1', '1.2.3.999', '1.2.3', '1.2.3.4.5', '1..2.3', '.1.2.3',
    '1.2.3.', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.-4', '1.2.3.0x4', '+1.2.3.4', '', '1', '１.2.3.4']) {
    assert.is(parseIp(bad), null, bad)
  }
})

t('parseIp: IPv6 with "::", an IPv4 tail, any case; no zone ids, no malformed forms', () => {
  assert.equal(parseIp('::'), new Uint32Array([0, 0, 0, 0]))
  assert.equal(parseIp('::1'), new Uint32Array([0, 0, 0, 1]))
  assert.equal(parseIp('1::'), new Uint32Array([0x10000, 0, 0, 0]))
  assert.equal(parseIp('2001:DB8::8:800:200C:417A'), new Uint32Array([0x20010db8, 0, 0x80800, 0x200c417a]))
  assert.equal(parseIp('1:2:3:4:5:6:7:8'), new Uint32Array([0x10002, 0x30004, 0x50006, 0x70008]))
  assert.equal(parseIp('1:2:3:4:5:6:7::'), new Uint32Array([0x10002, 0x30004, 0x50006, 0x70000]), ':: for one group')
  assert.equal(parseIp('::2:3:4:5:6:7:8'), new Uint32Array([0x2, 0x30004, 0x50006, 0x70008]))
  assert.equal(parseIp('0000:0000:0000:0000:0000:0000:0000:0001'), new Uint32Array([0, 0, 0, 1]))
  assert.equal(parseIp('::1.2.3.4'), new Uint32Array([0, 0, 0, 0x01020304]), 'IPv4-compatible (deprecated) is not folded')
  assert.equal(parseIp('64:ff9b::192.0.2.33'), new Uint32Array([0x0064ff9b, 0, 0, 0xc0000221]))
  for (const bad of ['fe80::1%eth0', 'fe80::1%1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1::2::3', ':::', ':1::', '1::2:', ':1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:', '12345::', 'g::1', '1:2:3:4:5:6:7:8::', '::1.2.3', '::1.2.3.4:5', '::1.2.3.256', '::01.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
    '[::1]', ':', '::ffff:1.2.3.4/8', '1::2 ', 'ffff']) {
    assert.is(parseIp(bad), null, bad)
  }
})

t('parseIp: an IPv4-mapped address is its IPv4 address (RFC 4291 §2.5.5.2), dotted or in hex', () => {
  assert.is(parseIp('::ffff:10.1.2.3'), 0x0a010203)
  assert.is(parseIp('::ffff:a01:203'), 0x0a010203)
  assert.is(parseIp('0:0:0:0:0:FFFF:0A01:0203'), 0x0a010203)
  assert.is(parseIp('::ffff:0:0'), 0)
  assert.equal(parseIp('::ffff:10.1.2.3', false), new Uint32Array([0, 0, 0xffff, 0x0a010203]), 'fold=false keeps IPv6')
  assert.equal(parseIp('::fffe:10.1.2.3'), new Uint32Array([0, 0, 0xfffe, 0x0a010203]), 'only ::ffff:0:0/96 folds')
})

t('parseIp agrees with node:net isIP and the reference on random and mutated text', () => {
  const rnd = prng(11)
  const alphabet = '0123456789abcdefABCDEF:.%/ xg'
  let checked = 0
  for (const a of randomAddresses(3000, 5)) {
    const ip = parseIp(a)
    const want = big(a)!
    const got = typeof ip === 'number' ? MAPPED | BigInt(ip) : ip!.reduce((n, w) => (n << 32n) | BigInt(w), 0n)
    assert.is(got, want, a)
    // One mutation: a character deleted, replaced or inserted.
    const at = Math.floor(rnd() * (a.length + 1))
    const c = alphabet[Math.floor(rnd() * alphabet.length)]
    const m = [a.slice(0, at) + a.slice(at + 1), a.slice(0, at) + c + a.slice(at + 1), a.slice(0, at) + c + a.slice(at)][Math.floor(rnd() * 3)]
    const valid = isIP(m) !== 0 && !m.includes('%')
    assert.is(parseIp(m) !== null, valid, `mutated ${JSON.stringify(a)} -> ${JSON.stringify(m)}`)
    checked += m === a ? 0 : 1
  }
  assert.ok(checked > 2500, 'most mutations changed the text')
})

t('parseCidr: what it accepted before, masked; null for anything else', () => {
  assert.equal(parseCidr('10.0.0.0/8'), { family: 4, address: 0x0a000000, bits: 8 })
  assert.equal(parseCidr('10.1.2.3/8'), { family: 4, address: 0x0a000000, bits: 8 }, 'host bits cleared')
  assert.equal(parseCidr('192.168.1.7'), { family: 4, address: 0xc0a80107, bits: 32 })
  assert.equal(parseCidr('0.0.0.0/0'), { family: 4, address: 0, bits: 0 })
  assert.equal(parseCidr('1.2.3.4/08'), { family: 4, address: 0x01000000, bits: 8 }, 'leading zeros in the length, as before')
  assert.equal(parseCidr('::1'), { family: 6, address: new Uint32Array([0, 0, 0, 1]), bits: 128 })
  assert.equal(parseCidr('2001:db8::/32'), { family: 6, address: new Uint32Array([0x20010db8, 0, 0, 0]), bits: 32 })
  assert.equal(parseCidr('2001:db8:ffff:ffff::1/47'), { family: 6, address: new Uint32Array([0x20010db8, 0xfffe0000, 0, 0]), bits: 47 })
  assert.equal(parseCidr('::/0'), { family: 6, address: new Uint32Array(4), bits: 0 })
  assert.equal(parseCidr('::ffff:10.0.0.0/104'), { family: 4, address: 0x0a000000, bits: 8 }, 'an IPv4 prefix written as mapped')
  assert.equal(parseCidr('::ffff:a01:203'), { family: 4, address: 0x0a010203, bits: 32 })
  assert.equal(parseCidr('::ffff:0:0/96'), { family: 4, address: 0, bits: 0 })
  assert.equal(parseCidr('::ffff:0:0/95'), { family: 6, address: new Uint32Array([0, 0, 0xfffe, 0]), bits: 95 }, 'shorter than /96: IPv6')
  for (const bad of ['10.0.0.0/', '10.0.0.0/33', '::/129', '+10.0.0.0/8', '10.0.0.0/+8', '10.0.0.0/-1', '10.0.0.0/8/9', '10.0.0.0/ 8', '10.0.0.0/8 ',
    ' 10.0.0.0/8', '1.2.3.4/x', '/8', '10.0.0/8', 'fe80::%eth0/64', '10.0.0.0/1e1', '10.0.0.0/0x8', '', 'localhost']) {
    assert.is(parseCidr(bad), null, bad)
  }
})

// ---- The table ----

function table<T>(entries: [string, T][]): (addr: string) => T | undefined {
  const tb = new CidrTable(entries)
  return (addr) => tb.lookup(addr)
}

t('longest prefix wins: /8 allow, /16 deny inside, /24 allow inside that, at every edge', () => {
  const look = table([['10.1.2.0/24', 'allow24'], ['10.0.0.0/8', 'allow8'], ['10.1.0.0/16', 'deny16']])
  const want: [string, string | undefined][] = [
    ['9.255.255.255', undefined], ['10.0.0.0', 'allow8'], ['10.1.0.0', 'deny16'], ['10.1.1.255', 'deny16'], ['10.1.2.0', 'allow24'],
    ['10.1.2.255', 'allow24'], ['10.1.3.0', 'deny16'], ['10.1.255.255', 'deny16'], ['10.2.0.0', 'allow8'], ['10.255.255.255', 'allow8'],
    ['11.0.0.0', undefined], ['0.0.0.0', undefined], ['255.255.255.255', undefined], ['::ffff:10.1.2.9', 'allow24'], ['::a01:209', undefined],
  ]
  for (const [addr, v] of want) assert.is(look(addr), v, addr)
})

t('the same prefix twice: the later entry wins, however it is written', () => {
  const look = table([['10.0.0.0/8', 'allow'], ['10.9.9.9/8', 'deny'], ['192.168.0.0/16', 'a'], ['::ffff:192.168.0.0/112', 'b'],
    ['2001:db8::/32', 'x'], ['2001:DB8:0:0::/32', 'y'], ['172.16.0.0/12', 'p'], ['172.16.0.0/12', 'q'], ['172.16.0.0/12', 'p']])
  assert.is(look('10.1.2.3'), 'deny')
  assert.is(look('192.168.7.7'), 'b')
  assert.is(look('2001:db8::1'), 'y')
  assert.is(look('172.20.0.1'), 'p', 'the last of three')
  const flip = table([['10.9.9.9/8', 'deny'], ['10.0.0.0/8', 'allow']])
  assert.is(flip('10.1.2.3'), 'allow', 'order decides, not the text')
})

t('IPv6: nested prefixes, edges of the space, and /128', () => {
  const look = table([['2001:db8::/32', 'a'], ['2001:db8:1::/48', 'b'], ['2001:db8:1:2::/64', 'c'], ['2001:db8:1:2::7', 'host'],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120', 'top'], ['::/127', 'bottom']])
  assert.is(look('2001:db8::'), 'a')
  assert.is(look('2001:db8:0:ffff:ffff:ffff:ffff:ffff'), 'a')
  assert.is(look('2001:db8:1::'), 'b')
  assert.is(look('2001:db8:1:2::6'), 'c')
  assert.is(look('2001:db8:1:2::7'), 'host')
  assert.is(look('2001:db8:1:2::8'), 'c')
  assert.is(look('2001:db8:1:3::'), 'b')
  assert.is(look('2001:db8:2::'), 'a')
  assert.is(look('2001:db9::'), undefined)
  assert.is(look('2001:db7:ffff:ffff:ffff:ffff:ffff:ffff'), undefined)
  assert.is(look('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 'top')
  assert.is(look('ffff:ffff:ffff:ffff:ffff:ffff:ffff:feff'), undefined)
  assert.is(look('::'), 'bottom')
  assert.is(look('::1'), 'bottom')
  assert.is(look('::2'), undefined)
  assert.is(look('10.0.0.1'), undefined, 'no IPv6 prefix here holds the mapped range')
})

t('IPv4-mapped folding in entries and lookups: one address, one answer', () => {
  const look = table([['::ffff:10.0.0.0/104', 'mapped8'], ['10.1.0.0/16', 'v4-16'], ['::ffff:a01:200/120', 'mapped24']])
  for (const a of ['10.9.9.9', '::ffff:10.9.9.9', '::ffff:a09:909', '0:0:0:0:0:ffff:10.9.9.9']) assert.is(look(a), 'mapped8', a)
  for (const a of ['10.1.9.9', '::ffff:10.1.9.9']) assert.is(look(a), 'v4-16', a)
  for (const a of ['10.1.2.3', '::FFFF:10.1.2.3']) assert.is(look(a), 'mapped24', a)
  assert.is(look('::10.1.2.3'), undefined, 'IPv4-compatible is another address')
})

t('/0 entries, and IPv6 prefixes that hold the whole mapped range rank below every IPv4 prefix', () => {
  const v4all = table([['0.0.0.0/0', 'any4']])
  assert.is(v4all('1.2.3.4'), 'any4')
  assert.is(v4all('::1'), undefined)
  const v6all = table([['::/0', 'any6'], ['10.0.0.0/8', 'ten']])
  assert.is(v6all('1.2.3.4'), 'any6', '::/0 holds ::ffff:1.2.3.4')
  assert.is(v6all('10.0.0.1'), 'ten')
  assert.is(v6all('2001:db8::1'), 'any6')
  const both = table([['0.0.0.0/0', 'any4'], ['::/0', 'any6'], ['::ffff:0:0/80', 'mapped80'], ['::/96', 'zero96']])
  assert.is(both('1.2.3.4'), 'any4', '0.0.0.0/0 is ::ffff:0:0/96: longer than ::/0 and ::/80, whatever the order')
  assert.is(both('::1'), 'zero96')
  assert.is(both('::1:0:1'), 'mapped80', '::ffff:0:0/80 is ::/80: it holds more than IPv4')
  assert.is(both('::1:0:0:1'), 'any6')
  assert.is(both('2001::1'), 'any6')
})

t('an empty table answers nothing; a bad entry is a fault; lookupIp takes parsed addresses', () => {
  const empty = new CidrTable<number>([])
  assert.is(empty.size, 0)
  for (const a of ['1.2.3.4', '::1', '::ffff:1.2.3.4', 'nope', '']) assert.is(empty.lookup(a), undefined)
  assert.throws(() => new CidrTable([['10.0.0.0/8', 1], ['10.0.0.300/8', 2]]), /not an IP address or CIDR: "10.0.0.300\/8"/)
  const tb = new CidrTable([['10.0.0.0/8', 1], ['2001:db8::/32', 2]])
  assert.is(tb.size, 2)
  assert.is(tb.lookupIp(parseIp('10.2.3.4')!), 1)
  assert.is(tb.lookupIp(parseIp('::ffff:10.2.3.4')!), 1)
  assert.is(tb.lookupIp(parseIp('::ffff:10.2.3.4', false)!), 1, 'folded in the lookup too')
  assert.is(tb.lookupIp(parseIp('2001:db8::9')!), 2)
  assert.is(tb.lookup('not an ip'), undefined)
  assert.is(tb.lookup(undefined as unknown as string), undefined, 'a socket with no remote address yet')
})

t('CidrList keeps its API on the table: has, empty, invalid entries skipped', () => {
  const l = new CidrList(['10.0.0.0/8', 'junk', '2001:db8::/32'])
  assert.ok(l.has('10.0.0.1'))
  assert.ok(l.has('::ffff:10.0.0.1'))
  assert.ok(l.has('2001:db8::1'))
  assert.not.ok(l.has('11.0.0.1'))
  assert.not.ok(new CidrList(['junk']).has('1.2.3.4'))
  assert.ok(new CidrList(['junk']).empty)
  assert.not.ok(l.empty)
})

t('randomized: the table agrees with a linear scan over BigInt masks (fixed seeds)', () => {
  for (const seed of [1, 2, 3]) {
    const entries = randomEntries(2000, seed)
    const refs = entries.map(([c]) => ref(c))
    const tb = new CidrTable(entries)
    // Random addresses near the prefixes, and every prefix's edges: first, last, one before, one after.
    const edges = refs.slice(0, 400).flatMap((r) => [r.base, r.base | (ALL ^ r.mask), r.base - 1n, (r.base | (ALL ^ r.mask)) + 1n])
    const addrs = [...randomAddresses(3000, seed + 100), ...edges.filter((n) => n >= 0n && n <= ALL).map(text)]
    let hits = 0
    for (const a of addrs) {
      const want = naive(refs, a)
      assert.is(tb.lookup(a), want, `seed ${seed}: ${a}`)
      if (want !== undefined) hits++
    }
    assert.ok(hits > addrs.length / 3, `seed ${seed}: ${hits} of ${addrs.length} addresses are covered (the test exercises matches)`)
  }
})

t('100,000 entries load, and answer like the reference', () => {
  const entries = randomEntries(100_000, 42)
  const tb = new CidrTable(entries)
  assert.is(tb.size, 100_000)
  const refs = entries.map(([c]) => ref(c))
  for (const a of randomAddresses(40, 43)) assert.is(tb.lookup(a), naive(refs, a), a)
})

// ---- The list file ----

t('readCidrFile: comments, blank lines, whitespace, CRLF; file order kept', () => {
  const f = tempFile('allow.txt')
  writeFileSync(f, '\ufeff# office\n10.0.0.0/8\n\n   192.168.1.7   # the printer\r\n\t2001:db8::/32\t\r\n#10.9.9.9\n  # indented comment\n::ffff:1.2.3.4/128')
  assert.equal(readCidrFile(f, 'access.allow_file'), ['10.0.0.0/8', '192.168.1.7', '2001:db8::/32', '::ffff:1.2.3.4/128'])
  const empty = tempFile('empty.txt')
  writeFileSync(empty, '\n# nothing\n\n')
  assert.equal(readCidrFile(empty, 'p'), [])
})

t('readCidrFile: a bad line or an unreadable file refuses the config, naming the file and the line', () => {
  const f = tempFile('deny.txt')
  writeFileSync(f, `${'10.0.0.0/8\n'.repeat(10)}# ok\n  10.0.0.300/8  # typo\n`)
  try {
    readCidrFile(f, 'access.allow_file')
    assert.unreachable('accepted')
  } catch (err) {
    assert.instance(err, ConfigError)
    assert.is((err as Error).message, `access.allow_file: ${f} line 12: "10.0.0.300/8" is not an IP address or CIDR`)
  }
  assert.throws(() => readCidrFile('/nonexistent/x.txt', 'access.deny_file'), /^access\.deny_file: cannot read file \/nonexistent\/x\.txt: ENOENT$/)
  const locked = tempFile('locked.txt')
  writeFileSync(locked, '10.0.0.0/8\n')
  chmodSync(locked, 0o000)
  const root = process.getuid?.() === 0 // root reads it anyway
  if (!root) assert.throws(() => readCidrFile(locked, 'p'), /cannot read file .*: EACCES/)
})

t('readCidrFile: 100,000 lines, then a table of them', () => {
  const entries = randomEntries(100_000, 44)
  const f = tempFile('big.txt')
  writeFileSync(f, entries.map(([c], i) => (i % 10 === 0 ? `${c}  # line ${i + 1}` : c)).join('\n') + '\n')
  const list = readCidrFile(f, 'access.deny_file')
  assert.is(list.length, 100_000)
  assert.is(list[99_999], entries[99_999][0])
  assert.is(new CidrTable(list.map((c, i) => [c, i] as const)).size, 100_000)
})

t.run()
