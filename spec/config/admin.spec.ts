/**
 * The `admin` key: its listener, token and htpasswd file, and the refusal of an API on a public
 * address without credentials.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { validate } from '../../src/config/validate.js'
import { isLoopback } from '../../src/config/admin.js'
import { refusedBy } from '../support/config.js'
import { tempFile } from '../support/harness.js'

const t = suite('config admin')
const base = { upstreams: { u: { peers: ['127.0.0.1:9000'] } } }
const TOKEN = '0123456789abcdefXYZ'

t('off unless set', () => {
  assert.is(validate(base).admin, null)
  assert.is(validate({ ...base, admin: false }).admin, null)
})

t('a loopback listener needs no credentials; the token and the htpasswd users are read', () => {
  assert.equal(validate({ ...base, admin: { listen: '127.0.0.1:9901' } }).admin, { listen: { host: '127.0.0.1', port: 9901 }, token: null, htpasswd: null, users: [] })
  const file = tempFile('admin.htpasswd')
  writeFileSync(file, 'ops:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n')
  const a = validate({ ...base, admin: { listen: '[::1]:9901', token: TOKEN, htpasswd: file } }).admin!
  assert.is(a.token, TOKEN)
  assert.equal(a.users, [['ops', '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=']])
})

t('refused on a public address without a token or an htpasswd file', () => {
  refusedBy(() => validate({ ...base, admin: { listen: '0.0.0.0:9901' } }), 'admin.listen: 0.0.0.0 is not a loopback address: set admin.token or admin.htpasswd')
  refusedBy(() => validate({ ...base, admin: { listen: ':9901' } }), 'admin.listen: 0.0.0.0 is not a loopback address: set admin.token or admin.htpasswd')
  refusedBy(() => validate({ ...base, admin: { listen: '10.1.2.3:9901' } }), /10\.1\.2\.3 is not a loopback address/)
  assert.is(validate({ ...base, admin: { listen: '0.0.0.0:9901', token: TOKEN } }).admin!.token, TOKEN)
})

t('a short or ill-formed token, a missing file, an unknown field, no listen: refused with the field', () => {
  refusedBy(() => validate({ ...base, admin: { listen: '127.0.0.1:1', token: 'short' } }), /^admin\.token: must be at least 16 characters/)
  refusedBy(() => validate({ ...base, admin: { listen: '127.0.0.1:1', token: 'has spaces in it, sixteen+' } }), /^admin\.token: /)
  refusedBy(() => validate({ ...base, admin: { listen: '127.0.0.1:1', htpasswd: '/nonexistent/file' } }), /^admin\.htpasswd: cannot read file \/nonexistent\/file/)
  refusedBy(() => validate({ ...base, admin: { listen: '127.0.0.1:1', tokn: TOKEN } }), /^admin\.tokn: unknown field/)
  refusedBy(() => validate({ ...base, admin: { token: TOKEN } }), 'admin.listen: is required (host:port)')
})

t('what counts as loopback', () => {
  for (const h of ['127.0.0.1', '127.9.8.7', '::1', 'localhost']) assert.ok(isLoopback(h), h)
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '::ffff:127.0.0.1']) assert.not.ok(isLoopback(h), h)
})

t.run()
