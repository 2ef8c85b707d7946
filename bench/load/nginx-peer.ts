/**
 * The benchmarks' peer: nginx, one process, serving fixed answers, so that the peer is never what
 * limits a row (issue 15: with the Node peer, the "straight" row was only 1.15x the nginx proxy's,
 * so the comparison measured the peer). Besides the straight row's own figures, bench/load/run.ts
 * and bench/peers/run.ts print whether the straight row is at least twice the fastest proxy.
 *
 *   GET / (any path not below):  200 "hello world\n" (12 bytes), for `make bench`
 *   GET /SIZE:                   SIZE bytes (a file made at start for each size asked for)
 *   GET /cache/SIZE:             the same, `Cache-Control: public, max-age=3600` (nginx adds ETag,
 *                                Last-Modified and Date): a response any shared cache may store
 *   GET /nostore/SIZE:           the same, `Cache-Control: no-store` (the miss path)
 *
 * Connections are kept alive unless the request says `Connection: close` (then nginx closes after
 * the answer, as the Node peer did). No access log. When nginx is not installed the callers fall
 * back to the Node peers (bench/load/peer.ts, bench/peers/peer.ts) and say so.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Proc, ready, start } from './procs.js'
import { which } from '../peers/designs.js'

/** nginx's path, or null when it is not installed. */
export function nginxBin(): string | null {
  return which('nginx')
}

function config(ports: readonly number[], dir: string, www: string): string {
  return `daemon off;
master_process off;          # one process: its pid is the one whose CPU time the straight row counts
worker_processes 1;
worker_rlimit_nofile 65536;
pid ${dir}/nginx-peer.pid;
error_log ${dir}/nginx-peer-error.log warn;
events { worker_connections 32768; }
http {
    access_log off;
    keepalive_requests 1000000;  # the 1000 default would close the proxies' pooled connections mid-run
    keepalive_timeout 120s;
    open_file_cache max=64;      # the body files: no open() per request
    client_body_temp_path ${dir}/nginx-peer-body;
    proxy_temp_path ${dir}/nginx-peer-proxy;
    fastcgi_temp_path ${dir}/nginx-peer-fastcgi;
    uwsgi_temp_path ${dir}/nginx-peer-uwsgi;
    scgi_temp_path ${dir}/nginx-peer-scgi;
    types { }
    default_type application/octet-stream;
    server {
${ports.map((p) => `        listen 127.0.0.1:${p} backlog=4096;`).join('\n')}
        root ${www};
        location / { default_type text/plain; return 200 "hello world\\n"; }
        location ~ "^/([0-9]+)$" { try_files /$1 =404; }
        location ~ "^/cache/([0-9]+)$" { add_header Cache-Control "public, max-age=3600"; try_files /$1 =404; }
        location ~ "^/nostore/([0-9]+)$" { add_header Cache-Control "no-store"; try_files /$1 =404; }
    }
}
`
}

/**
 * Starts the nginx peer on `ports` (all of them one process), pinned to `cpu`, with a body file for
 * each of `sizes`; resolves once every port accepts. Throws when nginx is not installed.
 */
export async function startNginxPeer(ports: readonly number[], dir: string, cpu: number | null, sizes: readonly number[] = []): Promise<Proc> {
  const bin = nginxBin()
  if (bin === null) throw new Error('nginx is not installed')
  const www = join(dir, 'nginx-peer-www')
  mkdirSync(www, { recursive: true })
  for (const n of new Set(sizes)) writeFileSync(join(www, String(n)), Buffer.alloc(n, 'x'))
  const conf = join(dir, 'nginx-peer.conf')
  writeFileSync(conf, config(ports, dir, www))
  const proc = start('peer', cpu, bin, ['-p', dir, '-c', conf, '-e', join(dir, 'nginx-peer-error.log')], join(dir, 'nginx-peer.log'))
  for (const p of ports) await ready(proc, p)
  return proc
}

/** The line both benches print under their table: is the peer fast enough to measure the proxies? */
export function peerHeadroom(straight: number, fastest: number, fastestName: string): string {
  const r = straight / fastest
  return `peer headroom: straight ${Math.round(straight).toLocaleString('en-US')} req/s = ${r.toFixed(2)}x the fastest proxy (${fastestName}); ` +
    (r >= 2 ? 'at least 2x: the rows measure the proxies' : 'UNDER 2x: the peer (or wrk, sharing its CPU) limits the fastest rows')
}
