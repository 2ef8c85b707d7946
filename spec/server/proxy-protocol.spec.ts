import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ProxyHeader, ProxyHeaderReader, ProxyRead, V1_MAX, V2_MAX, crc32c, readProxyHeader } from '../../src/server/proxy-protocol.js'

const t = suite('server/proxy-protocol')

const HTTP = Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1')
const SIG = Buffer.from('0d0a0d0a000d0a515549540a', 'hex')

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1')

function tlv(type: number, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value
  const h = Buffer.alloc(3)
  h[0] = type
  h.writeUInt16BE(v.length, 1)
  return Buffer.concat([h, v])
}

const ipv4 = (s: string): Buffer => Buffer.from(s.split('.').map(Number))
const ports = (a: number, b: number): Buffer => { const p = Buffer.alloc(4); p.writeUInt16BE(a, 0); p.writeUInt16BE(b, 2); return p }

/** A v2 header: ver_cmd, fam, the address block, TLVs; `crc` adds a CRC32C TLV (correct, or off by one). */
function v2(verCmd: number, fam: number, block: Buffer, tlvs: Buffer[] = [], opts: { crc?: 'good' | 'bad'; len?: number } = {}): Buffer {
  const crcTlv = opts.crc === undefined ? [] : [tlv(0x03, Buffer.alloc(4))]
  const body = Buffer.concat([block, ...tlvs, ...crcTlv])
  const h = Buffer.concat([SIG, Buffer.from([verCmd, fam, 0, 0]), body])
  h.writeUInt16BE(opts.len ?? body.length, 14)
  if (opts.crc !== undefined) h.writeUInt32BE((crc32c(h) + (opts.crc === 'bad' ? 1 : 0)) >>> 0, h.length - 4)
  return h
}

const INET = Buffer.concat([ipv4('192.0.2.1'), ipv4('198.51.100.7'), ports(56324, 443)])
const INET6 = Buffer.concat([Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.from('20010db8000000010000000000000002', 'hex'), ports(40000, 8443)])
const src4 = { address: '192.0.2.1', port: 56324, family: 'IPv4' } as const
const dst4 = { address: '198.51.100.7', port: 443, family: 'IPv4' } as const
const none = { alpn: null, authority: null }

interface Valid { name: string; header: Buffer; want: Omit<ProxyHeader, 'consumed'> }

const VALID: Valid[] = [
  { name: 'v1 TCP4', header: bytes('PROXY TCP4 192.0.2.1 198.51.100.7 56324 443\r\n'), want: { version: 1, command: 'proxy', source: src4, destination: dst4, ...none } },
  { name: 'v1 TCP4, ports 0 and 65535', header: bytes('PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n'),
    want: { version: 1, command: 'proxy', source: { address: '0.0.0.0', port: 0, family: 'IPv4' }, destination: { address: '255.255.255.255', port: 65535, family: 'IPv4' }, ...none } },
  { name: 'v1 TCP6, written in full and mapped (RFC 5952 text out)', header: bytes('PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 ::ffff:198.51.100.7 40000 8443\r\n'),
    want: { version: 1, command: 'proxy', source: { address: '2001:db8::1', port: 40000, family: 'IPv6' }, destination: { address: '::ffff:198.51.100.7', port: 8443, family: 'IPv6' }, ...none } },
  { name: 'v1 UNKNOWN', header: bytes('PROXY UNKNOWN\r\n'), want: { version: 1, command: 'proxy', source: null, destination: null, ...none } },
  { name: 'v1 UNKNOWN, 107 bytes of anything', header: bytes(`PROXY UNKNOWN ${'\x00x?'.repeat(30)}`.padEnd(V1_MAX - 2, 'z') + '\r\n'),
    want: { version: 1, command: 'proxy', source: null, destination: null, ...none } },
  { name: 'v2 PROXY INET', header: v2(0x21, 0x11, INET), want: { version: 2, command: 'proxy', source: src4, destination: dst4, ...none } },
  { name: 'v2 PROXY INET6 with ALPN, authority, NOOP, an unknown TLV and a good CRC32C',
    header: v2(0x21, 0x21, INET6, [tlv(0x01, 'h2'), tlv(0x04, ''), tlv(0xe0, Buffer.alloc(40, 7)), tlv(0x02, 'bücher.example')], { crc: 'good' }),
    want: { version: 2, command: 'proxy', source: { address: '2001:db8::1', port: 40000, family: 'IPv6' },
      destination: { address: '2001:db8:0:1::2', port: 8443, family: 'IPv6' }, alpn: 'h2', authority: 'bücher.example' } },
  { name: 'v2 PROXY INET6, IPv4-mapped addresses', header: v2(0x21, 0x21, Buffer.concat([Buffer.from('00000000000000000000ffffc0000201', 'hex'), Buffer.alloc(16), ports(1, 2)])),
    want: { version: 2, command: 'proxy', source: { address: '::ffff:192.0.2.1', port: 1, family: 'IPv6' }, destination: { address: '::', port: 2, family: 'IPv6' }, ...none } },
  { name: 'v2 PROXY UNSPEC with a TLV', header: v2(0x21, 0x00, Buffer.alloc(0), [tlv(0x02, 'example.com')]),
    want: { version: 2, command: 'proxy', source: null, destination: null, alpn: null, authority: 'example.com' } },
  { name: 'v2 PROXY AF_UNIX', header: v2(0x21, 0x31, Buffer.alloc(216, 0x2f)), want: { version: 2, command: 'proxy', source: null, destination: null, ...none } },
  { name: 'v2 LOCAL', header: v2(0x20, 0x00, Buffer.alloc(0)), want: { version: 2, command: 'local', source: null, destination: null, ...none } },
  { name: 'v2 LOCAL with a block, skipped unread whatever its family', header: v2(0x20, 0x12, Buffer.from('not a TLV')),
    want: { version: 2, command: 'local', source: null, destination: null, ...none } },
]

function expectDone(r: ProxyRead, v: Valid, what: string): Buffer {
  if (r.state !== 'done') throw new assert.Assertion({ message: `${v.name} (${what}): ${JSON.stringify(r)}`, generated: false, operator: 'done', expects: 'done', actual: r.state })
  assert.equal(r.header, { ...v.want, consumed: v.header.length }, `${v.name} (${what})`)
  return r.rest
}

t('every valid header, whole: its fields, its length, and the bytes after it untouched', () => {
  for (const v of VALID) {
    const rest = expectDone(readProxyHeader(Buffer.concat([v.header, HTTP])), v, 'whole')
    assert.equal(rest, HTTP, v.name)
    expectDone(readProxyHeader(v.header), v, 'alone')
    assert.is(new ProxyHeaderReader().push(Buffer.concat([v.header, HTTP])).state, 'done')
  }
})

t('every valid header, split at every offset and fed byte by byte, gives the same answer', () => {
  for (const v of VALID) {
    const all = Buffer.concat([v.header, HTTP])
    for (let cut = 0; cut <= all.length; cut++) {
      const r = new ProxyHeaderReader()
      const first = r.push(all.subarray(0, cut))
      const res = first.state === 'more' ? r.push(all.subarray(cut)) : first
      const rest = expectDone(res, v, `split at ${cut}`)
      // What the caller forwards: the rest, then any chunk the reader was not given.
      assert.equal(first.state === 'more' ? rest : Buffer.concat([rest, all.subarray(cut)]), HTTP, `${v.name}: split at ${cut}`)
      if (cut < v.header.length) assert.is(readProxyHeader(all.subarray(0, cut)).state, 'more', `${v.name}: a prefix of ${cut} bytes is not an error`)
    }
    const r = new ProxyHeaderReader()
    let res: ProxyRead = { state: 'more' }
    let i = 0
    while (res.state === 'more') res = r.push(all.subarray(i, ++i))
    assert.is(i, v.header.length, `${v.name}: done at its last byte`)
    assert.equal(expectDone(res, v, 'byte by byte'), Buffer.alloc(0))
  }
})

t('v2 IPv6 addresses come out as RFC 5952 text (§4.2: lower case, the first longest run of zeros, never one group)', () => {
  const cases: [string, string][] = [
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'], ['20010db8000000010001000100010001', '2001:db8:0:1:1:1:1:1'],
    ['20010db8000000000000000100000000', '2001:db8::1:0:0'], ['00000000000000000000000000000001', '::1'], ['fe800000000000000000abcdef000000', 'fe80::abcd:ef00:0'],
    ['ffffffffffffffffffffffffffffffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'], ['00010000000000000000000000000000', '1::'],
  ]
  for (const [hex, text] of cases) {
    const r = readProxyHeader(v2(0x21, 0x21, Buffer.concat([Buffer.from(hex, 'hex'), Buffer.from(hex, 'hex'), ports(1, 2)])))
    assert.is(r.state === 'done' && r.header.source?.address, text, hex)
  }
})

t('the reader reads the first chunk in place and hands back views; it reads one header', () => {
  const all = Buffer.concat([VALID[0].header, HTTP])
  const r = new ProxyHeaderReader()
  const res = r.push(all)
  assert.is(res.state === 'done' && res.rest.buffer, all.buffer, 'rest is a view of the chunk')
  assert.throws(() => r.push(HTTP), /already read/)
  const split = new ProxyHeaderReader()
  split.push(all.subarray(0, 10))
  const tail = all.subarray(10)
  const res2 = split.push(tail)
  assert.is(res2.state === 'done' && res2.rest.buffer, tail.buffer, 'after a split, rest is a view of the last chunk')
})

const INET_BAD_TLV = v2(0x21, 0x11, INET, [tlv(0x01, 'h2')])
INET_BAD_TLV.writeUInt16BE(3, INET_BAD_TLV.length - 4) // ALPN claims 3 bytes, 2 are there: it runs past the header

const MALFORMED: [string, Buffer, RegExp][] = [
  ['a 108-byte v1 line', bytes('PROXY UNKNOWN '.padEnd(106, 'x') + '\r\n'), /no CRLF in the first 107 bytes/],
  ['a v1 line with no end', bytes('PROXY TCP4 1.2.3.4 5.6.7.8 1 2'.padEnd(200, ' ')), /v1: /],
  ['v1 ending in a bare LF', bytes('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'), /bare LF/],
  ['v1 with a CR and no LF', bytes('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rGET'), /CR without LF/],
  ['v1 UNKNOWN with a bare LF', bytes('PROXY UNKNOWN foo\n'), /bare LF/],
  ['v1 short UNKNOWN with a bare LF', bytes('PROXY UNKNOWN\n'), /bare LF/],
  ['v1 double space', bytes('PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n'), /single spaces/],
  ['v1 trailing space', bytes('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n'), /single spaces/],
  ['v1 a field missing', bytes('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'), /single spaces/],
  ['v1 bad IPv4 address', bytes('PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n'), /bad IPv4 address/],
  ['v1 IPv4 with a leading zero', bytes('PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n'), /bad IPv4 address/],
  ['v1 IPv6 under TCP4', bytes('PROXY TCP4 ::1 ::1 1 2\r\n'), /bad IPv4 address/],
  ['v1 IPv4 under TCP6', bytes('PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n'), /bad IPv6 address/],
  ['v1 IPv6 with a zone', bytes('PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n'), /unexpected byte/],
  ['v1 port with a leading zero', bytes('PROXY TCP4 1.2.3.4 5.6.7.8 080 443\r\n'), /bad IPv4 address or port/],
  ['v1 port 65536', bytes('PROXY TCP4 1.2.3.4 5.6.7.8 65536 443\r\n'), /or port/],
  ['v1 unknown protocol', bytes('PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n'), /not TCP4, TCP6 or UNKNOWN/],
  ['v1 UNKNOWN glued to more', bytes('PROXY UNKNOWNX\r\n'), /not TCP4, TCP6 or UNKNOWN/],
  ['v1 in lower case', bytes('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n'), /not a PROXY protocol header/],
  ['v1 letters in a TCP4 line', bytes('PROXY TCP4 1.2.3.4 5.6.7.8 http 2\r\n'), /unexpected byte/],
  ['plain HTTP', HTTP, /not a PROXY protocol header/],
  ['a TLS ClientHello', Buffer.from('160301020001000200fc0303', 'hex'), /not a PROXY protocol header/],
  ['the v2 signature, one byte off', Buffer.concat([SIG.subarray(0, 5), Buffer.from([1]), SIG.subarray(6), Buffer.from([0x21, 0x11, 0, 12]), INET]), /not a PROXY protocol header/],
  ['v2 version nibble 1', v2(0x11, 0x11, INET), /version must be 2/],
  ['v2 version nibble 3', v2(0x31, 0x11, INET), /version must be 2/],
  ['v2 command 2', v2(0x22, 0x11, INET), /command must be LOCAL or PROXY/],
  ['v2 UDP over IPv4 (DGRAM)', v2(0x21, 0x12, INET), /DGRAM/],
  ['v2 UDP over IPv6 (DGRAM)', v2(0x21, 0x22, INET6), /DGRAM/],
  ['v2 unknown family', v2(0x21, 0x41, INET), /unknown address family/],
  ['v2 unknown transport', v2(0x21, 0x13, INET), /unknown address family/],
  ['v2 length shorter than the INET block', v2(0x21, 0x11, INET.subarray(0, 8)), /shorter than the address block/],
  ['v2 length shorter than the INET6 block', v2(0x21, 0x21, INET), /shorter than the address block/],
  ['v2 TLV running past the length', INET_BAD_TLV, /TLV runs past the header/],
  ['v2 TLV header cut short', v2(0x21, 0x11, Buffer.concat([INET, Buffer.from([1, 0])])), /TLV header runs past/],
  ['v2 CRC32C mismatch', v2(0x21, 0x11, INET, [tlv(0x01, 'h2')], { crc: 'bad' }), /CRC32C mismatch/],
  ['v2 CRC32C of 3 bytes', v2(0x21, 0x11, INET, [tlv(0x03, Buffer.alloc(3))]), /must be 4 bytes/],
  ['v2 two ALPN TLVs', v2(0x21, 0x11, INET, [tlv(0x01, 'h2'), tlv(0x01, 'http/1.1')]), /two ALPN/],
  ['v2 authority not UTF-8', v2(0x21, 0x11, INET, [tlv(0x02, Buffer.from([0xc3, 0x28]))]), /not UTF-8/],
  ['v2 longer than the cap', v2(0x21, 0x11, INET, [tlv(0xe0, Buffer.alloc(V2_MAX))]), /longer than 4096/],
]

t('a table of malformed headers: each is an error, whole, split and byte by byte', () => {
  for (const [name, b, reason] of MALFORMED) {
    const whole = readProxyHeader(b)
    assert.is(whole.state, 'error', name)
    assert.match((whole as { reason: string }).reason, reason, name)
    const r = new ProxyHeaderReader()
    let res: ProxyRead = { state: 'more' }
    for (let i = 0; res.state === 'more' && i < b.length; i++) res = r.push(b.subarray(i, i + 1))
    assert.equal(res, whole, `${name}: byte by byte`)
  }
})

t('fail fast: an error as soon as a byte cannot continue either signature', () => {
  const at = (b: Buffer): number => {
    for (let n = 1; n <= b.length; n++) if (readProxyHeader(b.subarray(0, n)).state === 'error') return n
    return -1
  }
  assert.is(at(HTTP), 1, 'GET fails at G')
  assert.is(at(Buffer.from([0x16, 0x03, 0x01])), 1, 'TLS fails at its first byte')
  assert.is(at(bytes('PROXZ')), 5)
  assert.is(at(bytes('\r\n\r\nX')), 5)
  assert.is(at(bytes('PROXY TCP9')), 10)
  assert.is(at(Buffer.concat([SIG, Buffer.from([0x11])])), 13, 'the version, at byte 13')
  assert.is(at(Buffer.concat([SIG, Buffer.from([0x21, 0x12])])), 14, 'DGRAM, at byte 14')
  assert.is(at(Buffer.concat([SIG, Buffer.from([0x21, 0x11, 0xff, 0xff])])), 16, 'the length cap, at byte 16')
  assert.is(at(Buffer.concat([SIG, Buffer.from([0x21, 0x21, 0, 12])])), 16, 'a block that cannot fit, at byte 16')
  assert.is(at(bytes('PROXY TCP4 1.2.3.4 x')), 20, 'a letter in a TCP4 line')
  assert.is(at(bytes('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n')), 31, 'a bare LF, when it comes')
  assert.is(at(bytes('PROXY UNKNOWN '.padEnd(106, 'x') + '\r\n')), V1_MAX, 'no CRLF within 107 bytes: at the 107th')
})

t('CRC-32C: the RFC 3720 §B.4 check values, and the checksum field read as zeros', () => {
  assert.is(crc32c(Buffer.from('123456789')), 0xe3069283)
  assert.is(crc32c(Buffer.alloc(32)), 0x8a9136aa)
  assert.is(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43)
  assert.is(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e)
  assert.is(crc32c(Buffer.alloc(36, 0xff), 0, 36, 32), crc32c(Buffer.concat([Buffer.alloc(32, 0xff), Buffer.alloc(4)])))
})

t.run()
