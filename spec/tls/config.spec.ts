/**
 * The TLS keys of the config: listen entries as objects, the `tls` sections of listeners and upstream
 * groups, their defaults, and refusals with the field path. Quick mode with --tls-cert/--tls-key, run
 * as the real command and asked by curl, a third independent client.
 */
import { suite } from 'uvu'
import { refusedBy } from '../support/config.js'
import * as assert from 'uvu/assert'
import { execFile, spawn } from 'node:child_process'
import { validate } from '../../src/config/validate.js'
import { quick } from '../../src/config/load.js'
import { DEFAULTS } from '../../src/config/schema.js'
import { guard, httpUpstream, waitFor } from '../support/harness.js'
import { pair, pki } from '../support/tls.js'

const t = suite('tls-config')
const track = guard(t)
const ups = { upstreams: { u: { peers: ['127.0.0.1:9000'] } } }

function refused(raw: Record<string, unknown>, message: string | RegExp): void {
  refusedBy(() => validate({ ...ups, ...raw }), message)
}

t('a listen entry may be a string or an object; TLS defaults fill the rest', () => {
  const c = validate({ ...ups, listen: ['127.0.0.1:8080', { address: '[::1]:8443', tls: { certificates: [pair('default'), pair('wild')] } }, { address: ':80', redirect_https: true }] })
  assert.equal(c.listen[0], { host: '127.0.0.1', port: 8080 })
  const tls = c.listen[1].tls!
  assert.is(c.listen[1].host, '::1')
  assert.equal(tls.certificates.map((x) => x.names), [['default.test'], ['*.b.test']])
  assert.is(tls.min_version, 'TLSv1.2')
  assert.is(tls.ciphers, DEFAULTS.tls.ciphers)
  assert.is(tls.client_ca, null)
  assert.is(tls.hsts, null)
  assert.is(tls.ticket_rotation, 3_600_000)
  assert.equal(c.listen[2], { host: '::', port: 80, redirect_https: 443 })
})

t('listener TLS options are read and checked', () => {
  const c = validate({ ...ups, listen: [{ address: ':8443', tls: { certificates: [pair('rsa')], min_version: '1.3', ciphers: 'TLS_AES_256_GCM_SHA384', client_ca: pki('ca.pem'), client_auth: 'optional', hsts: true, ticket_rotation: '10m' } }] })
  const tls = c.listen[0].tls!
  assert.is(tls.min_version, 'TLSv1.3')
  assert.is(tls.client_auth, 'optional')
  assert.match(tls.client_ca!, /BEGIN CERTIFICATE/)
  assert.is(tls.hsts, 'max-age=31536000')
  assert.is(tls.ticket_rotation, 600_000)
})

t('bad listener TLS options are refused with the field path', () => {
  const l = (tls: Record<string, unknown>) => ({ listen: [{ address: ':8443', tls: { certificates: [pair('rsa')], ...tls } }] })
  refused(l({ min_version: 'TLSv1.1' }), 'listen[0].tls.min_version: must be "TLSv1.2" or "TLSv1.3" (1.0 and 1.1 are obsolete, RFC 8996)')
  refused(l({ ciphers: 'NOT-A-CIPHER' }), /^listen\[0\]\.tls\.ciphers: not usable: /)
  refused(l({ hsts: 'forever' }), 'listen[0].tls.hsts: must be true or "max-age=SECONDS[; includeSubDomains][; preload]"')
  refused(l({ client_ca: pki('rsa.key') }), 'listen[0].tls.client_ca: is not a PEM certificate')
  refused(l({ client_ca: pki('ca.pem'), client_auth: 'sometimes' }), 'listen[0].tls.client_auth: must be "required" or "optional"')
  refused(l({ ocsp: true }), /^listen\[0\]\.tls\.ocsp: unknown field/)
  refused({ listen: [{ address: ':8443' , tls: {} }] }, 'listen[0].tls.certificates: is required (a list of {cert, key})')
  refused({ listen: [{ address: ':8443', tls: { certificates: [pair('rsa')] }, redirect_https: true }] }, 'listen[0].redirect_https: is for a plain listener, not one with tls')
  refused({ listen: [{ address: ':80', redirect_https: 0 }] }, 'listen[0].redirect_https: must be an integer from 1 to 65535')
  refused({ listen: [{ port: 80 }] }, /^listen\[0\]\.port: unknown field/)
})

t('upstream TLS: true for the defaults, options read, bad ones refused', () => {
  const c = validate({ upstreams: { a: { peers: ['10.0.0.1:443'], tls: true }, b: { peers: ['10.0.0.2:443'], tls: { verify: false, ca: pki('ca.pem'), servername: 'API.test', client_cert: pair('client') } } }, routes: [{ upstream: 'a' }] })
  assert.equal(c.upstreams.get('a')!.tls, { verify: true, ca: null, servername: null, client_cert: null })
  const b = c.upstreams.get('b')!.tls!
  assert.is(b.verify, false)
  assert.is(b.servername, 'api.test')
  assert.match(b.client_cert!.key, /PRIVATE KEY/)
  const u = (tls: unknown) => ({ upstreams: { u: { peers: ['10.0.0.1:443'], tls } } })
  refused(u({ servername: '10.0.0.1' }), 'upstreams.u.tls.servername: "10.0.0.1" is not a DNS host name')
  refused(u({ verify: 'yes' }), 'upstreams.u.tls.verify: must be true or false')
  refused(u({ ca: '/nope.pem' }), 'upstreams.u.tls.ca: cannot read file /nope.pem: ENOENT')
  refused(u({ client_cert: { cert: pki('client.pem'), key: pki('rsa.key') } }), /^upstreams\.u\.tls\.client_cert\.key: .* does not belong to the certificate/)
  assert.is(validate(u(false)).upstreams.get('u')!.tls, undefined)
})

t('quick mode: every --listen serves the --tls-cert/--tls-key pairs', () => {
  const c = quick(['127.0.0.1:8443'], ['127.0.0.1:9000'], [pair('rsa'), pair('wild')])
  assert.equal(c.listen[0].tls!.certificates.map((x) => x.names[0]), ['a.test', '*.b.test'])
})

t('the command in quick mode serves HTTPS; curl trusts the test CA', async () => {
  const up = track(await httpUpstream((req, res) => res.end(`proto=${req.headers['x-forwarded-proto']}`)))
  const child = spawn(process.execPath, [`${process.cwd()}/dist/src/cli.js`, '--listen', '127.0.0.1:0', '--tls-cert', pki('rsa.pem'),
    '--tls-key', pki('rsa.key'), '--tls-cert', pki('wild.pem'), '--tls-key', pki('wild.key'), '--upstream', `127.0.0.1:${up.port}`], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise((r) => child.on('exit', r))
  track({ close: async () => { child.kill('SIGTERM'); await exited } })
  let err = ''
  child.stderr!.on('data', (d) => { err += d })
  await waitFor(() => /listening .*port=\d+ tls=true/.test(err), 5000, 'listening')
  const port = Number(/port=(\d+)/.exec(err)![1])
  const body = await new Promise<string>((resolve, reject) => execFile('curl', ['-s', '--max-time', '5', '--cacert', pki('ca.pem'),
    '--resolve', `x.b.test:${port}:127.0.0.1`, `https://x.b.test:${port}/`], (e, out) => e ? reject(e) : resolve(out)))
  assert.is(body, 'proto=https')
})

t('quick mode: --tls-cert without its --tls-key is refused', async () => {
  const child = spawn(process.execPath, [`${process.cwd()}/dist/src/cli.js`, '--listen', '127.0.0.1:0', '--tls-cert', pki('rsa.pem'), '--upstream', '127.0.0.1:9'], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  child.stderr!.on('data', (d) => { err += d })
  const code = await new Promise((r) => child.on('exit', r))
  assert.is(code, 1)
  assert.match(err, /--tls-key: 1 --tls-cert but 0 --tls-key: give them in pairs/)
})

t.run()
