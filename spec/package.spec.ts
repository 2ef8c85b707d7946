/**
 * The package as people get it: `npm pack` (its prepack builds the JavaScript and the type
 * declarations) from a copy of the sources, the tarball installed into an empty project, then the
 * installed command (quick mode, and --demo) and the library API from a program, and a typed user
 * file checked by tsc against the installed declarations. One pack and one install for all of it.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile, spawn, ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { httpUpstream, raw, statuses, waitFor, HttpUpstream } from './support/harness.js'

const t = suite('package')
const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'rawproxy-package-'))
const APP = join(dir, 'app')
const BIN = join(APP, 'node_modules', '.bin', 'rawproxy')
let up: HttpUpstream
/** The tarball's paths, without the leading "package/". */
let files: string[] = []

/** The children's coverage is of copies outside dist/src, and tsc's would be large: none. */
function env(): NodeJS.ProcessEnv {
  const e = { ...process.env }
  delete e.NODE_V8_COVERAGE
  delete e.FORCE_COLOR // the runner's: a program's console.log would colour its numbers
  return e
}

function run(cmd: string, args: string[], cwd: string, ms = 180_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: env(), timeout: ms, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

interface Child { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> }

function child(cmd: string, args: string[]): Child {
  const c = spawn(cmd, args, { cwd: APP, env: env(), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  c.stdout!.on('data', (d) => { out += d })
  c.stderr!.on('data', (d) => { err += d })
  return { child: c, out: () => out, err: () => err, exited: new Promise((r) => c.on('exit', (code) => r(code))) }
}

/** Stops a child by its PID (SIGTERM: a graceful stop) and waits for its exit code. */
async function stop(c: Child): Promise<number | null> {
  if (c.child.exitCode === null && c.child.signalCode === null) process.kill(c.child.pid!, 'SIGTERM')
  return c.exited
}

t.before(async () => {
  up = await httpUpstream((req, res) => res.end(`app saw ${req.url}`))
  // A copy of what the package is made of, so the build cannot touch this checkout's dist/.
  const src = join(dir, 'src')
  mkdirSync(src)
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files: string[] }
  // web/ and scripts/: the dashboard's files, copied into dist/web by scripts/build-web.mjs at prepack.
  const tops = new Set(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'web', 'scripts',
    ...pkg.files.map((f) => f.split('/')[0]).filter((f) => f !== 'dist')])
  for (const f of tops) if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(src, f), { recursive: true })
  symlinkSync(join(ROOT, 'node_modules'), join(src, 'node_modules'), 'dir')
  const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], src)
  const info = JSON.parse(packed.slice(packed.indexOf('['))) as { filename: string; files: { path: string }[] }[]
  files = info[0].files.map((f) => f.path)
  mkdirSync(APP)
  writeFileSync(join(APP, 'package.json'), JSON.stringify({ name: 'rawproxy-user', private: true, type: 'module' }))
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, info[0].filename)], APP)
})

t.after(async () => {
  await up.close()
  rmSync(dir, { recursive: true, force: true })
})

t('the tarball holds the built JavaScript, its declarations, the docs and the licence; no specs, benches or fixtures', () => {
  for (const f of ['dist/src/cli.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/config/input.d.ts', 'dist/src/cluster/worker.js',
    'package.json', 'README.md', 'LICENSE', 'docs/config.md', 'docs/library.md', 'contrib/rawproxy.service',
    'dist/web/dashboard/index.html', 'dist/web/dashboard/trace.html', 'dist/web/dashboard/uPlot.iife.min.js']) {
    assert.ok(files.includes(f), `${f} is in the tarball`)
  }
  const stray = files.filter((f) => /^(spec|bench|fixtures|src|dist\/spec|dist\/bench)\//.test(f) || f.endsWith('.map') || (f.endsWith('.ts') && !f.endsWith('.d.ts')))
  assert.equal(stray, [], 'nothing else')
})

t('the installed command: quick mode proxies a request; SIGTERM by PID stops it', async () => {
  const p = child(BIN, ['--listen', '127.0.0.1:0', '--upstream', `127.0.0.1:${up.port}`])
  try {
    await waitFor(() => /listening address=\S+ port=\d+/.test(p.err()) || p.child.exitCode !== null, 10_000, `the listening line; stderr: ${p.err()}`)
    const port = Number(/listening address=\S+ port=(\d+)/.exec(p.err())![1])
    const r = await raw(port, 'GET /quick HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    assert.equal(statuses(r.text), [200])
    assert.match(r.text, /app saw \/quick$/)
  } finally {
    assert.is(await stop(p), 0, 'a graceful stop exits 0')
  }
})

t('the installed command: --demo serves (or says its fixed ports are taken on this machine)', async () => {
  const p = child(BIN, ['--demo'])
  try {
    await waitFor(() => /Press Ctrl-C/.test(p.out()) || p.child.exitCode !== null, 10_000, 'the demo')
    if (p.child.exitCode !== null) {
      // 8080, 9101, 9102 and 9901 in use (another demo on this machine): the failure must say so.
      assert.match(p.err(), /EADDRINUSE|listen failed/)
      return
    }
    const r = await raw(8080, 'GET /b/hello HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    assert.match(r.text, /^HTTP\/1\.1 200 [^]*\r\n\r\nupstream-b: GET \/b\/hello/)
  } finally {
    await stop(p)
  }
})

t('the library from a program: start, proxy one request, reload, status, stop; the program then exits by itself', async () => {
  // Health checks, the admin API, the cache, a rate limit and basic auth (bcrypt: a native module, from
  // the installed dependencies) all run, and stop() must leave nothing to keep the process alive.
  writeFileSync(join(APP, 'use.mjs'), `
import bcrypt from 'bcrypt'
import { start, ConfigError } from 'rawproxy'
const users = { u: bcrypt.hashSync('pw', 4) }
const config = (timeout) => ({ listen: ['127.0.0.1:0'],
  upstreams: { app: { peers: ['127.0.0.1:${up.port}'], health: { interval: '500ms' } } },
  routes: [{ upstream: 'app', auth: { users }, cache: true, compress: true, rate_limit: { limits: [{ name: 'ip', key: 'client_ip', rate: '50/s' }] } }],
  admin: { listen: '127.0.0.1:0', token: 'package-spec-token-0123' },
  timeouts: { header: timeout }, access_log: 'off', event_log: 'off' })
const proxy = await start(config('5s'))
const url = 'http://127.0.0.1:' + proxy.addresses()[0].port + '/lib'
const as = (pw) => ({ headers: { authorization: 'Basic ' + Buffer.from('u:' + pw).toString('base64') } })
const r = await fetch(url, as('pw'))
console.log(\`proxied \${r.status} \${await r.text()} \${(await fetch(url, as('wrong'))).status}\`)
await proxy.reload(config('6s'))
try { await proxy.reload(config('never')) } catch (err) { console.log(\`refused \${err instanceof ConfigError} \${err.message}\`) }
const s = await proxy.status()
console.log(\`status \${s.config.reloads_ok} \${s.config.reloads_failed} \${s.requests.total} \${proxy.config.timeouts.header} \${proxy.adminPort > 0}\`)
await proxy.stop()
console.log('stopped')
`)
  const out = await run(process.execPath, ['use.mjs'], APP, 20_000)
  assert.equal(out.trim().split('\n'), [
    'proxied 200 app saw /lib 401',
    'refused true timeouts.header: must be a duration such as 500ms, 10s or 2m',
    'status 1 1 2 6000 true',
    'stopped',
  ])
})

t('a typed user file checks against the installed declarations (tsc --noEmit, no skipLibCheck)', async () => {
  writeFileSync(join(APP, 'typed.ts'), `
import { start, check, ConfigError } from 'rawproxy'
import type { ConfigInput, RawProxy, Status } from 'rawproxy'
const config: ConfigInput = {
  listen: ['127.0.0.1:0', { address: '127.0.0.1:0', access: { allow: ['127.0.0.1/32'] } }],
  upstreams: { app: { peers: ['127.0.0.1:3000'], health: { interval: '500ms' } } },
  routes: [{ upstream: 'app', rate_limit: { limits: [{ name: 'ip', key: 'client_ip', rate: '10/s' }] } }],
}
// @ts-expect-error: a misspelt key is a type error
const typo: ConfigInput = { upstreams: {}, lisen: [] }
const proxy: RawProxy = await start(config, { onEvent: (e) => console.log(e.event) })
const status: Status = await proxy.status()
const port: number = proxy.addresses()[0].port
const header: number = proxy.config.timeouts.header
try { await proxy.reload(config) } catch (err) { if (err instanceof ConfigError) console.log(err.path, err.reason) }
check(config)
await proxy.stop()
console.log(typo, status.upstreams[0].peers[0].state, port, header)
`)
  writeFileSync(join(APP, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false,
      types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
    files: ['typed.ts'],
  }))
  await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], APP)
})

t.run()
