/**
 * The designs bench-peers compares: each one is a proxy in front of the same peer. To add one, add
 * its config template to bench/peers/ (placeholders {{PORT}}, {{PEER_PORT}}, {{DIR}}) and an entry to
 * DESIGNS below: its name, a line saying what it is, and how to start it (see `Design`). The runner
 * waits for the port, checks one response through it, and measures the whole process group it
 * started, pinned to the proxy's CPU.
 */
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Proc, start } from '../load/procs.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..')

/** Where and how a design runs in one bench run. */
export interface DesignContext {
  /** The port on 127.0.0.1 it must listen on. */
  port: number
  /** The peer's port on 127.0.0.1: every design forwards there. */
  peerPort: number
  /** The run's own temp dir (removed at the end) for configs, pid files and logs. */
  dir: string
  /** The CPU to pin it to (taskset -c), or null for none. */
  cpu: number | null
}

export interface Design {
  /** Short name: a table column, a chart legend entry, and a BENCH_DESIGNS filter word. */
  readonly name: string
  /** One line for the report: what it is and how it is set up. */
  readonly about: string
  /** Why it cannot run on this machine (a binary missing), or null when it can. */
  missing(): string | null
  /** Starts it (through procs.start, so it is stopped with the rest); it listens on ctx.port. */
  start(ctx: DesignContext): Proc
}

/** The absolute path of `bin` on PATH or in the sbin directories (nginx and haproxy live there), or null. */
export function which(bin: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const d of dirs) {
    if (d === '') continue
    try { accessSync(join(d, bin), constants.X_OK); return join(d, bin) } catch { /* not here */ }
  }
  return null
}

/** bench/peers/NAME with its placeholders filled in, written to the run's dir; returns that path. */
export function fill(name: string, ctx: DesignContext): string {
  const text = readFileSync(join(ROOT, 'bench/peers', name), 'utf8')
  const values: Record<string, string> = { PORT: String(ctx.port), PEER_PORT: String(ctx.peerPort), DIR: ctx.dir }
  const out = text.replace(/\{\{(\w+)\}\}/g, (all, key: string) => {
    if (!(key in values)) throw new Error(`bench/peers/${name}: unknown placeholder ${all}`)
    return values[key]
  })
  const file = join(ctx.dir, name)
  writeFileSync(file, out)
  return file
}

const node = (script: string): string => join(ROOT, 'dist', script)
const log = (ctx: DesignContext, name: string): string => join(ctx.dir, `${name}.log`)
const needs = (bin: string) => (): string | null =>
  which(bin) === null ? `${bin} is not installed (bench/peers/install.sh installs it from Debian when the release has it)` : null

export const DESIGNS: readonly Design[] = [
  {
    name: 'rawproxy',
    about: '`node dist/src/cli.js`, one process, bench/peers/rawproxy.yaml',
    missing: () => null,
    start: (ctx) => start('rawproxy', ctx.cpu, process.execPath,
      [node('src/cli.js'), '--config', fill('rawproxy.yaml', ctx)], log(ctx, 'rawproxy')),
  },
  {
    name: 'rawproxy-log',
    about: '`node dist/src/cli.js`, one process, bench/peers/rawproxy-log.yaml: the access log on (JSON lines to a file)',
    missing: () => null,
    start: (ctx) => start('rawproxy-log', ctx.cpu, process.execPath,
      [node('src/cli.js'), '--config', fill('rawproxy-log.yaml', ctx)], log(ctx, 'rawproxy-log')),
  },
  {
    name: 'nginx',
    about: 'nginx, 1 worker, bench/peers/nginx.conf',
    missing: needs('nginx'),
    // -e: the error log from the very start is ours too, not /var/log/nginx (nginx >= 1.19.5).
    start: (ctx) => start('nginx', ctx.cpu, which('nginx')!,
      ['-p', ctx.dir, '-c', fill('nginx.conf', ctx), '-e', join(ctx.dir, 'nginx-error.log')], log(ctx, 'nginx')),
  },
  {
    name: 'haproxy',
    about: 'HAProxy, 1 thread, bench/peers/haproxy.cfg',
    missing: needs('haproxy'),
    start: (ctx) => start('haproxy', ctx.cpu, which('haproxy')!, ['-db', '-f', fill('haproxy.cfg', ctx)], log(ctx, 'haproxy')),
  },
  {
    name: 'caddy',
    about: 'Caddy, GOMAXPROCS=1, bench/peers/Caddyfile',
    missing: needs('caddy'),
    // env(1) sets the environment and execs: the pid, and so the process group, stay Caddy's.
    // HOME and XDG_* keep its state files in the run's dir.
    start: (ctx) => start('caddy', ctx.cpu, 'env',
      ['GOMAXPROCS=1', `HOME=${ctx.dir}`, `XDG_DATA_HOME=${ctx.dir}`, `XDG_CONFIG_HOME=${ctx.dir}`,
        which('caddy')!, 'run', '--adapter', 'caddyfile', '--config', fill('Caddyfile', ctx)], log(ctx, 'caddy')),
  },
  {
    name: 'tcp-pipe',
    about: 'a `net` server piping each client socket to a new peer socket, no HTTP parsing (bench/load/tcp-pipe.ts); ' +
      'it has no upstream keep-alive of its own: with a new client connection per request, it opens one to the peer per request',
    missing: () => null,
    start: (ctx) => start('tcp-pipe', ctx.cpu, process.execPath,
      [node('bench/load/tcp-pipe.js'), String(ctx.port), String(ctx.peerPort)], log(ctx, 'tcp-pipe')),
  },
]

/** What a response says about the cache it came through: served from it, forwarded, or no cache at all. */
export type CacheVerdict = 'hit' | 'miss' | 'none'

/** A design of the cache section: as a Design, plus how to read from a response whether it was a hit. */
export interface CacheDesign extends Design {
  /** Reads the response's headers (Node's, lower-case names). */
  verdict(headers: Record<string, string | string[] | undefined>): CacheVerdict
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v.join(', ') : v)

/**
 * rawproxy's `Cache-Status` (RFC 9211 §2): a list whose last member is the cache nearest the client,
 * ours; `hit` is a parameter of it, a forward has `fwd=REASON`. No field: no cache on the route.
 */
export function cacheStatus(headers: Record<string, string | string[] | undefined>): CacheVerdict {
  const v = one(headers['cache-status'])
  if (v === undefined) return 'none'
  const params = (v.split(',').at(-1) ?? '').split(';').map((p) => p.trim().toLowerCase())
  if (params.includes('hit')) return 'hit'
  return params.some((p) => p.startsWith('fwd=')) ? 'miss' : 'none'
}

/** nginx's `$upstream_cache_status` or the VCL's obj.hits, both as X-Cache (HIT; MISS, EXPIRED, ... forwarded). */
export function xCache(headers: Record<string, string | string[] | undefined>): CacheVerdict {
  const v = one(headers['x-cache'])
  if (v === undefined || v.trim() === '') return 'none'
  return v.trim().toUpperCase() === 'HIT' ? 'hit' : 'miss'
}

const rawproxy = DESIGNS.find((d) => d.name === 'rawproxy')!

/**
 * The designs of the cache rows: each cache is its own process with its own store, warmed by the
 * runner. Every one gets the proxy's one CPU, as in the matrix: rawproxy one process, nginx one
 * worker, Varnish one thread pool (its threads, one per connection, share that CPU).
 */
export const CACHE_DESIGNS: readonly CacheDesign[] = [
  { ...rawproxy, about: `${rawproxy.about} (no \`cache\` key: the plain proxy, for the miss row)`, verdict: cacheStatus },
  {
    name: 'rawproxy-cache',
    about: '`node dist/src/cli.js`, one process, bench/peers/rawproxy-cache.yaml: a route with `cache: {}` (the memory store\'s defaults)',
    missing: () => null,
    start: (ctx) => start('rawproxy-cache', ctx.cpu, process.execPath,
      [node('src/cli.js'), '--config', fill('rawproxy-cache.yaml', ctx)], log(ctx, 'rawproxy-cache')),
    verdict: cacheStatus,
  },
  {
    name: 'nginx-cache',
    about: 'nginx, 1 worker, `proxy_cache` (files in the run\'s dir, no `proxy_cache_valid`), bench/peers/nginx-cache.conf',
    missing: needs('nginx'),
    start: (ctx) => start('nginx-cache', ctx.cpu, which('nginx')!,
      ['-p', ctx.dir, '-c', fill('nginx-cache.conf', ctx), '-e', join(ctx.dir, 'nginx-cache-error.log')], log(ctx, 'nginx-cache')),
    verdict: xCache,
  },
  {
    name: 'varnish',
    about: 'Varnish (Debian\'s varnishd), `-s malloc,256m -p thread_pools=1`, bench/peers/varnish.vcl (the built-in VCL plus X-Cache)',
    missing: needs('varnishd'),
    // -F: the manager in the foreground, its cache child in the same process group (both measured,
    // both stopped with it). -n: its working dir in the run's dir. -T none: no management port.
    start: (ctx) => start('varnish', ctx.cpu, which('varnishd')!, varnishArgs(ctx), log(ctx, 'varnish')),
    verdict: xCache,
  },
]

/** varnishd's command line for a run (the spec checks the VCL with the same -n and -f and -C). */
export function varnishArgs(ctx: DesignContext): string[] {
  return ['-F', '-a', `127.0.0.1:${ctx.port}`, '-f', fill('varnish.vcl', ctx), '-n', join(ctx.dir, 'varnish'),
    '-s', 'malloc,256m', '-p', 'thread_pools=1', '-T', 'none']
}
