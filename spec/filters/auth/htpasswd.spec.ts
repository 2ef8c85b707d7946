import { suite } from 'uvu'
import { refusedBy } from '../../support/config.js'
import * as assert from 'uvu/assert'
import { writeFileSync, readFileSync } from 'node:fs'
import { parseHash, readHtpasswd, decoy, Credential } from '../../../src/config/htpasswd.js'
import { tempFile } from '../../support/harness.js'
import { htpasswd, hashOf, sshaOf } from './tools.js'

const t = suite('auth htpasswd')

const refused = refusedBy

t('htpasswd is installed (apache2-utils): these specs need the real tool', () => {
  assert.match(htpasswd('-nbB', 'u', 'p'), /^u:\$2y\$05\$/)
})

t('without htpasswd the specs fail and say what to install', () => {
  const path = process.env.PATH
  process.env.PATH = '/nonexistent'
  try {
    htpasswd('-nbB', 'u', 'p')
    assert.unreachable('ran without a PATH')
  } catch (err) {
    assert.match((err as Error).message, 'apt-get install apache2-utils')
  } finally {
    process.env.PATH = path
  }
})

t('each format htpasswd makes is parsed to its format and cost', () => {
  const b = parseHash(hashOf(['-B'], 'pw'), 'p')
  assert.is(b.format, 'bcrypt')
  assert.is(b.work, 50 * 2 ** 5, 'htpasswd -B defaults to cost 5')
  assert.match(b.setting, /^\$2b\$05\$[./A-Za-z0-9]{22}$/)
  assert.is(b.digest.length, 31)
  assert.is(parseHash(hashOf(['-B', '-C', '4'], 'pw'), 'p').work, 50 * 2 ** 4)
  const m = parseHash(hashOf(['-m'], 'pw'), 'p')
  assert.is(m.format, 'apr1')
  assert.is(m.setting.length, 8)
  const s = parseHash(hashOf(['-s'], 'pw'), 'p')
  assert.is(s.format, 'sha')
  assert.is(s.digest.length, 20)
  const ss = parseHash(sshaOf('pw', Buffer.from('salt')), 'p')
  assert.is(ss.format, 'ssha')
  assert.equal([...ss.salt], [...Buffer.from('salt')])
  const h = hashOf(['-B'], 'pw')
  // $2a$, $2b$ and $2y$ alike are handed to the native binding as $2b$, with the same salt.
  for (const v of ['2a', '2b', '2y']) assert.is(parseHash(h.replace('$2y$', `$${v}$`), 'p').setting, `$2b$05$${h.slice(7, 29)}`)
})

t('what htpasswd -d, -p, -2 and -5 make is refused with what it is', () => {
  const use = 'use htpasswd -B (bcrypt)'
  refused(() => parseHash(hashOf(['-d'], 'pw'), 'auth.users.bob'), `auth.users.bob: DES crypt is not accepted (8-character passwords, broken); ${use}`)
  refused(() => parseHash(hashOf(['-p'], 'a plain password'), 'auth.users.bob'), `auth.users.bob: plain text (htpasswd -p) is not accepted; ${use}`)
  refused(() => parseHash(hashOf(['-2'], 'pw'), 'p'), `p: SHA-256-crypt ($5$, htpasswd -2) is not accepted; ${use}`)
  refused(() => parseHash(hashOf(['-5'], 'pw'), 'p'), `p: SHA-512-crypt ($6$, htpasswd -5) is not accepted; ${use}`)
})

t('other formats and malformed hashes are refused, and the reason never quotes the hash', () => {
  const cases: [string, RegExp][] = [
    ['', /empty hash/],
    ['$1$abcdefgh$0123456789012345678901', /MD5-crypt \(\$1\$\)/],
    ['$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA', /Argon2/],
    ['$y$j9T$salt$hash', /yescrypt/],
    ['$sha1$40000$salt$hash', /unknown hash format \$sha1\$/],
    ['{SHA256}abcd', /unknown hash format \{SHA256\}/],
    ['$2y$05$tooshort', /bcrypt hash is malformed/],
    ['$2y$03$' + 'a'.repeat(53), /bcrypt cost 03 is out of range \(4 to 12: each step doubles the time of a check/],
    ['$2y$13$' + 'a'.repeat(53), /bcrypt cost 13 is out of range/],
    ['$2x$05$' + 'a'.repeat(53), /\$2x\$/],
    ['$2$05$' + 'a'.repeat(53), /\$2\$/],
    ['$2y$05$' + 'a'.repeat(52) + '!', /bcrypt hash is malformed/],
    ['$apr1$toolongsalt$' + 'a'.repeat(22), /\$apr1\$\) hash is malformed/],
    ['$apr1$salt$' + 'a'.repeat(21), /\$apr1\$\) hash is malformed/],
    ['{SHA}' + Buffer.alloc(19).toString('base64'), /\{SHA\} hash is malformed/],
    ['{SHA}' + Buffer.alloc(20).toString('base64').slice(0, -1), /\{SHA\} hash is malformed/],
    ['{SSHA}' + Buffer.alloc(20).toString('base64'), /\{SSHA\} hash is malformed/],
    ['{SSHA}' + Buffer.alloc(90).toString('base64'), /\{SSHA\} hash is malformed/],
  ]
  for (const [hash, reason] of cases) {
    refused(() => parseHash(hash, 'p'), reason)
    try { parseHash(hash, 'p') } catch (err) { if (hash.length > 8) assert.not.ok((err as Error).message.includes(hash), hash) }
  }
})

t('a file made by htpasswd is read: every format, comments, blank lines, CRLF', () => {
  const file = tempFile('users')
  htpasswd('-cbB', file, 'alice', 'a-secret')
  htpasswd('-bB', '-C', '4', file, 'bob', 'b:secret')
  htpasswd('-bm', file, 'carol', 'c-secret')
  htpasswd('-bs', file, 'dave', 'd-secret')
  const text = readFileSync(file, 'utf8')
  writeFileSync(file, `# users of the demo\n\n${text.replace(/\n/g, '\r\n')}  erin:${sshaOf('e')}  \r\n\n#end`)
  const users = readHtpasswd(file, 'auth.htpasswd')
  assert.equal([...users.keys()], ['alice', 'bob', 'carol', 'dave', 'erin'])
  assert.equal([...users.values()].map((c) => c.format), ['bcrypt', 'bcrypt', 'apr1', 'sha', 'ssha'])
  assert.is(decoy(users), users.get('alice'), 'the costliest: bcrypt cost 5')
  assert.is(decoy(new Map()), null)
})

t('errors name the file and the line', () => {
  const file = tempFile('users')
  const good = hashOf(['-B', '-C', '4'], 'pw')
  const bad = (lines: string[], reason: string): void => {
    writeFileSync(file, lines.join('\n'))
    refused(() => readHtpasswd(file, 'auth.htpasswd'), `auth.htpasswd: ${file} ${reason}`)
  }
  bad(['# c', `bob:${good}`, `eve:${hashOf(['-d'], 'pw')}`], 'line 3: DES crypt is not accepted (8-character passwords, broken); use htpasswd -B (bcrypt)')
  bad([`bob:${good}`, 'just a line'], 'line 2: no colon (expected user:hash)')
  bad([`:${good}`], 'line 1: empty user name')
  bad([`bob:${good}`, '', `bob:${good}`], 'line 3: user "bob" is listed twice (first on line 1)')
  bad([`b\x01b:${good}`], 'line 1: user "b\\u0001b" has a control character (RFC 7617 §2)')
  writeFileSync(file, Buffer.concat([Buffer.from('b'), Buffer.from([0xe9]), Buffer.from(`:${good}`)]))
  refused(() => readHtpasswd(file, 'auth.htpasswd'), `auth.htpasswd: ${file} line 1: not UTF-8 text (RFC 7617 §2.1: user names are compared as UTF-8)`)
  refused(() => readHtpasswd(`${file}.missing`, 'auth.htpasswd'), `auth.htpasswd: cannot read file ${file}.missing: ENOENT`)
})

t('an empty file is no users; a BOM is skipped; the file is read again at each call (reload)', () => {
  const file = tempFile('users')
  writeFileSync(file, '# nobody yet\n')
  assert.is(readHtpasswd(file, 'a').size, 0)
  writeFileSync(file, `\ufeffjosé:${sshaOf('x')}\n`)
  assert.equal([...readHtpasswd(file, 'a').keys()], ['josé'])
  const first = readHtpasswd(file, 'a').get('josé')!
  writeFileSync(file, `josé:${sshaOf('y')}\n`)
  const second = readHtpasswd(file, 'a').get('josé')!
  assert.instance(second, Credential)
  assert.is.not(second.hash, first.hash)
})

t('a file that cannot be read is refused with the reason', () => {
  const dir = tempFile('users').replace(/users$/, '')
  refused(() => readHtpasswd(dir, 'auth.htpasswd'), `auth.htpasswd: cannot read file ${dir}: EISDIR`)
})

t.run()
