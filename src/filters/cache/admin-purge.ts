/**
 * The admin API's `POST /cache/purge?url=URL` (one URL's entries) or `?prefix=URL` (every entry whose
 * key starts with it), in every zone. In a cluster the admin API runs in the primary, which holds no
 * cache: it tells every worker (the same `cache-purge` message a worker's PURGE sends, cluster.ts).
 */
import cluster from 'node:cluster'
import { addAdminAction } from '../../admin/actions.js'
import type { AdminAnswer, AdminRequest } from '../../admin/http.js'
import { purge } from './stores.js'
import type { CachePurge } from './cluster.js'
import { resolve } from './invalidate.js'

function run(r: AdminRequest): AdminAnswer {
  const url = r.query.get('url')
  const prefix = r.query.get('prefix')
  const given = url ?? prefix
  if ((url === null) === (prefix === null) || given === null) return bad('give one of url= or prefix=, a URL such as https://example.com/path')
  // Keys are normalised as the cache makes them (scheme and host in lower case, no default port).
  const target = prefix !== null && /^https?:\/\/[^/]*$/i.test(prefix) ? prefix.toLowerCase() : resolve(given, 'http://invalid/')
  if (target === null || !/^https?:\/\//i.test(given)) return bad('must be an absolute http:// or https:// URL')
  const isPrefix = prefix !== null
  if (cluster.isPrimary && cluster.workers !== undefined && Object.keys(cluster.workers).length > 0) {
    const m: CachePurge = { type: 'cache-purge', target, prefix: isPrefix, zone: null }
    let n = 0
    for (const w of Object.values(cluster.workers)) if (w !== undefined && w.isConnected()) { w.send(m); n++ }
    return { status: 202, type: 'application/json', body: JSON.stringify({ target, prefix: isPrefix, workers: n }) + '\n' }
  }
  const removed = purge(target, isPrefix)
  return { status: 200, type: 'application/json', body: JSON.stringify({ target, prefix: isPrefix, removed }) + '\n' }
}

function bad(reason: string): AdminAnswer {
  return { status: 400, type: 'application/json', body: JSON.stringify({ error: reason }) + '\n' }
}

addAdminAction({ path: '/cache/purge', run })
