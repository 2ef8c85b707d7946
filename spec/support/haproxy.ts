/**
 * Test support: a real HAProxy (Debian's, /usr/sbin/haproxy) in front of or behind what a spec
 * starts, from a config template with {{NAME}} placeholders. It runs in the foreground (-db: one
 * process, its pid is the child's), on a free loopback port, and `stop()` ends it by that pid:
 * SIGTERM, then SIGKILL after a bound. Every HAProxy still running when the spec process exits is
 * killed too (a spec that crashed).
 */
import { spawn, ChildProcess } from 'node:child_process'
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deadPort, sleep } from './harness.js'

const CANDIDATES = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy']

/** The HAProxy binary ($HAPROXY, or where Debian and source builds put it), or null when there is none. */
export function haproxyPath(): string | null {
  for (const p of [process.env.HAPROXY ?? '', ...CANDIDATES]) {
    if (p === '') continue
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch { /* next */ }
  }
  return null
}

/**
 * HAProxy in `mode tcp`, one frontend on {{PORT}} and one server at 127.0.0.1:{{UPSTREAM}} with the
 * options {{SEND}} (`send-proxy`, `send-proxy-v2`...): the front of the PROXY protocol specs.
 */
export const TCP_FRONT = `
global
    nbthread 1
defaults
    mode tcp
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend fe
    bind 127.0.0.1:{{PORT}}
    default_backend be
backend be
    server s1 127.0.0.1:{{UPSTREAM}} {{SEND}}
`

/** {{NAME}} -> vars.NAME; a placeholder left without a value is a mistake in the spec. */
export function fill(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => {
    if (vars[k] === undefined) throw new Error(`haproxy config: no value for {{${k}}}`)
    return String(vars[k])
  })
}

export interface Haproxy {
  /** The port of {{PORT}} (the frontend), free when it was chosen. */
  readonly port: number
  readonly pid: number
  /** The folder of its config ({{DIR}}), removed by stop(). */
  readonly dir: string
  /** What HAProxy wrote to stdout and stderr so far. */
  output(): string
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()
process.on('exit', () => { for (const c of running) c.kill('SIGKILL') })

/** Whether 127.0.0.1:port is in LISTEN state (Linux /proc: looked at, not connected to, so no backend sees a probe). */
function listening(port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  try {
    return readFileSync('/proc/net/tcp', 'latin1').split('\n').some((l) => {
      const f = l.trim().split(/\s+/)
      return f[1] === local && f[3] === '0A'
    })
  } catch {
    return false
  }
}

/**
 * Starts HAProxy on `cfgTemplate` with {{PORT}} (a free loopback port unless given), {{DIR}} (a temp
 * folder) and `vars` filled in, and waits until the port listens. A config HAProxy refuses, or a
 * port taken meanwhile (tried three times), rejects with HAProxy's own words.
 */
export async function startHaproxy(cfgTemplate: string, vars: Record<string, string | number> = {}, ms = 5000): Promise<Haproxy> {
  const bin = haproxyPath()
  if (bin === null) throw new Error('haproxy is not installed (apt-get install haproxy)')
  for (let attempt = 1; ; attempt++) {
    const port = Number(vars.PORT ?? await deadPort())
    const dir = mkdtempSync(join(tmpdir(), 'rawproxy-haproxy-'))
    const cfg = join(dir, 'haproxy.cfg')
    writeFileSync(cfg, fill(cfgTemplate, { ...vars, PORT: port, DIR: dir }))
    const child = spawn(bin, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] })
    running.add(child)
    let out = ''
    child.stdout!.on('data', (d) => { out += d })
    child.stderr!.on('data', (d) => { out += d })
    const exited = new Promise<void>((r) => child.once('exit', () => { running.delete(child); r() }))
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        const bound = setTimeout(() => child.kill('SIGKILL'), 2000) // SIGTERM is HAProxy's hard stop; this is ours
        await exited
        clearTimeout(bound)
      }
      await exited
      rmSync(dir, { recursive: true, force: true })
    }
    const end = Date.now() + ms
    while (!listening(port) && child.exitCode === null && Date.now() < end) await sleep(10)
    if (listening(port) && child.exitCode === null) {
      return { port, pid: child.pid!, dir, output: () => out, stop }
    }
    await stop()
    if (vars.PORT === undefined && attempt < 3 && /cannot bind|Address already in use/i.test(out)) continue
    throw new Error(`haproxy did not listen on 127.0.0.1:${port} (exit ${child.exitCode ?? child.signalCode}): ${out.trim()}`)
  }
}
