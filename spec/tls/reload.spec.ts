/**
 * Certificates on reload: new handshakes get the new certificate while an open keep-alive connection
 * goes on with the session it has; a bad certificate is refused with the field path and the old one
 * stays in use, in process and through SIGHUP to the real command.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { copyFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { validate, ConfigError } from '../../src/config/validate.js'
import { guard, httpUpstream, tempFile, waitFor, HttpUpstream } from '../support/harness.js'
import { handshake, pair, pki, request, tlsProxy } from '../support/tls.js'

const t = suite('tls-reload')
const track = guard(t)
let up: HttpUpstream

t.before(async () => { up = await httpUpstream() })
t.after(async () => { await up.close() })

const GET = 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n'

/** The config as the running proxy has it (listeners are matched by their configured address, port 0). */
function config(certificates: unknown[]): Record<string, unknown> {
  return { listen: [{ address: '127.0.0.1:0', tls: { certificates } }], upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, access_log: 'off', event_log: 'off' }
}

async function servedCN(port: number): Promise<string> {
  const h = await handshake(port, { servername: 'a.test' })
  assert.is(h.error, null)
  h.socket!.end()
  return String(h.cert!.subject.CN)
}

t('a reload swaps the certificate for new handshakes; an open keep-alive connection keeps working', async () => {
  const px = track(await tlsProxy({ certificates: [pair('rsa')] }, { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const open = await handshake(px.port, { servername: 'a.test' })
  assert.match(await request(open.socket!, GET, /ok$/), /^HTTP\/1\.1 200 /)
  assert.is(String(open.cert!.subject.CN), 'rsa')
  await px.server.reload(validate(config([pair('ecdsa')])))
  assert.is(await servedCN(px.port), 'ecdsa', 'a new handshake gets the new certificate')
  assert.is(open.socket!.destroyed, false)
  assert.match(await request(open.socket!, GET, /ok$/), /^HTTP\/1\.1 200 /, 'the old connection still serves')
  open.socket!.end()
})

t('a bad certificate is refused with the field path and the reason', () => {
  const refused = (certs: unknown[], message: RegExp): void => {
    try {
      validate(config(certs))
    } catch (err) {
      assert.instance(err, ConfigError)
      assert.match((err as Error).message, message)
      return
    }
    assert.unreachable('accepted')
  }
  refused([pair('rsa'), { cert: '/nonexistent.pem', key: pki('rsa.key') }], /^listen\[0\]\.tls\.certificates\[1\]\.cert: cannot read file \/nonexistent\.pem: ENOENT$/)
  refused([{ cert: pki('rsa.pem'), key: pki('ecdsa.key') }], /^listen\[0\]\.tls\.certificates\[0\]\.key: .*ecdsa\.key does not belong to the certificate .*rsa\.pem$/)
  refused([{ cert: pki('rsa.key'), key: pki('rsa.key') }], /^listen\[0\]\.tls\.certificates\[0\]\.cert: is not a PEM certificate$/)
  refused([{ cert: pki('rsa.pem'), key: pki('rsa.pem') }], /^listen\[0\]\.tls\.certificates\[0\]\.key: .*rsa\.pem is not a PEM private key$/)
  refused([pair('weak')], /^listen\[0\]\.tls\.certificates\[0\]: not usable: .*key too small$/)
  refused([pair('expired')], /^listen\[0\]\.tls\.certificates\[0\]\.cert: .*expired\.pem expired on Feb  1 00:00:00 2020 GMT$/)
  refused([], /^listen\[0\]\.tls\.certificates: needs at least one certificate$/)
})

t('a listener cannot switch between plain and TLS on reload: refused whole, the old one serves on', async () => {
  const px = track(await tlsProxy({ certificates: [pair('rsa')] }, { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const plain = { ...config([]), listen: ['127.0.0.1:0'] }
  let err: unknown = null
  await px.server.reload(validate(plain)).catch((e) => { err = e })
  assert.instance(err, ConfigError)
  assert.match(String(err), /listen\[0\]: 127\.0\.0\.1:\d+ cannot switch between plain and TLS on reload/)
  assert.is(await servedCN(px.port), 'rsa')
})

t('SIGHUP with a broken certificate file: reload refused, the running certificate stays', async () => {
  const file = tempFile('rawproxy.yaml')
  const dir = dirname(file)
  copyFileSync(pki('rsa.pem'), join(dir, 'site.pem'))
  copyFileSync(pki('rsa.key'), join(dir, 'site.key'))
  const yaml = (): void => writeFileSync(file, [
    'listen:', '  - address: 127.0.0.1:0', '    tls:', '      certificates:',
    `        - { cert: ${join(dir, 'site.pem')}, key: ${join(dir, 'site.key')} }`,
    `upstreams: { u: { peers: ["127.0.0.1:${up.port}"] } }`, 'access_log: off', '',
  ].join('\n'))
  yaml()
  const child = spawn(process.execPath, [join(process.cwd(), 'dist/src/cli.js'), '--config', file], { stdio: ['ignore', 'ignore', 'pipe'] })
  const exited = new Promise((r) => child.on('exit', r))
  track({ close: async () => { child.kill('SIGTERM'); await exited } })
  let err = ''
  child.stderr!.on('data', (d) => { err += d })
  await waitFor(() => /listening address=\S+ port=\d+/.test(err), 5000, 'listening')
  const port = Number(/listening address=\S+ port=(\d+)/.exec(err)![1])
  assert.is(await servedCN(port), 'rsa')
  // A key that does not match: refused, and the rsa certificate still served.
  copyFileSync(pki('ecdsa.key'), join(dir, 'site.key'))
  child.kill('SIGHUP')
  await waitFor(() => /reload refused .*certificates\[0\]\.key: .*does not belong/.test(err), 5000, 'reload refused')
  assert.is(await servedCN(port), 'rsa')
  // Both files replaced with a good pair: the next handshake gets it.
  copyFileSync(pki('ecdsa.pem'), join(dir, 'site.pem'))
  child.kill('SIGHUP')
  await waitFor(() => /\breloaded\b/.test(err), 5000, 'reloaded')
  assert.is(await servedCN(port), 'ecdsa')
})

t.run()
