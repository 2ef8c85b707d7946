import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { randomBytes } from 'node:crypto'
import { decodeBasic, MAX_VALUE } from '../../../src/filters/auth/basic.js'

const t = suite('auth basic')

/** The field value a client sends for these user-pass bytes. */
function basic(userPass: string | Buffer): string {
  return `Basic ${Buffer.from(userPass).toString('base64')}`
}

t('RFC 7617 §2.1 example: "test" and "123£" in UTF-8', () => {
  assert.equal(decodeBasic('Basic dGVzdDoxMjPCow=='), { user: 'test', password: '123£' })
})

t('RFC 7617 §2 example: Aladdin', () => {
  assert.equal(decodeBasic('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='), { user: 'Aladdin', password: 'open sesame' })
})

t('the first colon splits: the password may hold colons, and may be empty', () => {
  assert.equal(decodeBasic(basic('bob:a:b::c')), { user: 'bob', password: 'a:b::c' })
  assert.equal(decodeBasic(basic('bob:')), { user: 'bob', password: '' })
  assert.equal(decodeBasic(basic('bob::')), { user: 'bob', password: ':' })
})

t('an empty user-id, or no colon at all, is no credential', () => {
  assert.is(decodeBasic(basic(':secret')), null)
  assert.is(decodeBasic(basic('bobsecret')), null)
})

t('the scheme is case-insensitive, followed by one or more spaces', () => {
  for (const s of ['basic', 'BASIC', 'bAsIc']) assert.equal(decodeBasic(`${s} dGVzdDoxMjPCow==`), { user: 'test', password: '123£' })
  assert.equal(decodeBasic('Basic    dGVzdDoxMjPCow=='), { user: 'test', password: '123£' })
  assert.is(decodeBasic('BasicdGVzdDoxMjPCow=='), null, 'no space')
  assert.is(decodeBasic('Basic\tdGVzdDoxMjPCow=='), null, 'a tab is not 1*SP')
  assert.is(decodeBasic('Basic '), null, 'no token')
  assert.is(decodeBasic('Basic      '), null)
  assert.is(decodeBasic('Basi dGVzdDoxMjPCow=='), null)
  assert.is(decodeBasic('Basics dGVzdDoxMjPCow=='), null)
  assert.is(decodeBasic(' Basic dGVzdDoxMjPCow=='), null)
})

t('other schemes are not Basic', () => {
  assert.is(decodeBasic('Bearer dGVzdDoxMjPCow=='), null)
  assert.is(decodeBasic('Digest username="test", realm="x"'), null)
  assert.is(decodeBasic(''), null)
})

t('only strict base64 passes: what Node\'s decoder would let through is refused', () => {
  const good = Buffer.from('bob:secret?>').toString('base64') // Ym9iOnNlY3JldD8+: has a "+"
  assert.ok(decodeBasic(`Basic ${good}`))
  assert.is(decodeBasic(`Basic ${good.replace('+', '-')}`), null, 'base64url "-"')
  assert.is(decodeBasic(`Basic ${Buffer.from('bob:s?ck').toString('base64').replace('/', '_')}`), null, 'base64url "_"')
  assert.is(decodeBasic('Basic dGVzdDoxMjPCow'), null, 'padding missing')
  assert.is(decodeBasic('Basic dGVzdDoxMjPCow='), null, 'padding short')
  assert.is(decodeBasic('Basic dGVzdDoxMjPCow==='), null, 'padding extra')
  assert.is(decodeBasic('Basic dGVzdDoxMjPCow==dGVz'), null, 'data after padding')
  assert.is(decodeBasic('Basic dGVzdDo xMjPCow=='), null, 'embedded space')
  assert.is(decodeBasic('Basic dGVzdDoxMjPCow== '), null, 'trailing space')
  assert.is(decodeBasic('Basic dGVzdDoxMjPCow==\r\n'), null)
  assert.is(decodeBasic('Basic dGVzdDoxMjPCox=='), null, 'non-zero pad bits')
  assert.is(decodeBasic('Basic dGVzdDox*MjPCow=='), null, 'not in the alphabet')
  assert.is(decodeBasic('Basic dGVzdDoxMjPCow\u00e9='), null, 'latin1 byte')
})

t('invalid UTF-8 is refused; a leading BOM is kept as part of the user-id', () => {
  assert.is(decodeBasic(basic(Buffer.from([0x62, 0x6f, 0x62, 0x3a, 0xa3]))), null, 'lone latin1 £')
  assert.is(decodeBasic(basic(Buffer.from([0xc3, 0x3a, 0x78]))), null, 'truncated sequence before the colon')
  assert.is(decodeBasic(basic(Buffer.from([0x62, 0x3a, 0xed, 0xa0, 0x80]))), null, 'encoded surrogate')
  assert.is(decodeBasic(basic(Buffer.from([0x62, 0x3a, 0xc0, 0xaf]))), null, 'overlong "/"')
  assert.equal(decodeBasic(basic('\ufeffbob:x')), { user: '\ufeffbob', password: 'x' })
  assert.equal(decodeBasic(basic('josé:пароль')), { user: 'josé', password: 'пароль' })
})

t('control characters are refused in the user-id and the password (RFC 7617 §2)', () => {
  for (const c of ['\x00', '\x01', '\t', '\n', '\r', '\x1b', '\x1f', '\x7f']) {
    assert.is(decodeBasic(basic(`bo${c}b:secret`)), null, JSON.stringify(c))
    assert.is(decodeBasic(basic(`bob:sec${c}ret`)), null, JSON.stringify(c))
  }
  assert.equal(decodeBasic(basic('bob:a b~')), { user: 'bob', password: 'a b~' }, 'SP and ~ are not CTLs')
})

t('oversize values are refused unread', () => {
  const pw = 'x'.repeat(3000)
  assert.equal(decodeBasic(basic(`bob:${pw}`)), { user: 'bob', password: pw })
  const big = basic(`bob:${'x'.repeat(MAX_VALUE)}`)
  assert.ok(big.length > MAX_VALUE)
  assert.is(decodeBasic(big), null)
})

t('never throws, and whatever it returns holds the invariants (random values)', () => {
  const alphabet = [...'Basic bB:=+/-_ \t\r\n\x00AZaz09\u00a3\u00ff']
  const printable = [...'ab :£€~𝄞\u00a0']
  const pick = (chars: string[], n: number): string => Array.from({ length: n }, () => chars[Math.floor(Math.random() * chars.length)]).join('')
  let found = 0
  for (let i = 0; i < 20_000; i++) {
    let v: string
    switch (i % 4) {
      case 0: v = pick(alphabet, i % 40); break
      case 1: v = `Basic ${randomBytes(i % 30).toString('base64')}`; break
      case 2: v = `Basic ${randomBytes(i % 30).toString('latin1')}`; break
      default: v = `basic ${Buffer.from(`u${i}:${pick(printable, i % 12)}`).toString('base64')}`
    }
    const r = decodeBasic(v)
    if (r === null) continue
    found++
    assert.ok(r.user.length > 0 && !r.user.includes(':'), v)
    assert.not.match(r.user + r.password, /[\x00-\x1f\x7f]/, v)
    assert.is(Buffer.from(`${r.user}:${r.password}`).toString('base64'), v.slice(6).trimStart(), v)
  }
  assert.ok(found > 1000, `only ${found} values decoded`)
})

t.run()
