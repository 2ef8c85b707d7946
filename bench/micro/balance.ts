/**
 * Group (c): choosing a peer. One op = COUNT picks (so "per request" is per pick), for each balancer
 * with 3 and with 100 peers, all up and idle: the pick a request pays on the hot path. And the pool:
 * taking an idle keep-alive socket and giving it back (real sockets to a loopback listener).
 */
import { createServer, AddressInfo } from 'node:net'
import { validate } from '../../src/config/validate.js'
import { Group } from '../../src/upstream/group.js'
import type { UpstreamOwner } from '../../src/upstream/upstream-conn.js'
import { COUNT } from './requests.js'
import type { Case } from './parse.js'

const LIMITS = { maxHead: 16_384, maxTarget: 8_192 }

function group(balance: string, n: number): Group {
  const peers = Array.from({ length: n }, (_, i) => ({ address: `10.0.${i >> 8}.${i & 255}:80`, weight: 1 + (i % 3) }))
  const cfg = validate({ upstreams: { u: { peers, balance, ...(balance === 'hash' ? { hash_key: 'header:x-user' } : {}) } } })
  return new Group(cfg.upstreams.get('u')!, cfg.timeouts, LIMITS)
}

export function pickCases(): Case[] {
  const keys = Array.from({ length: COUNT }, (_, i) => `user-${i * 7919}`)
  return ['round_robin', 'least_conn', 'random_two', 'hash'].flatMap((b) => [3, 100].map((n) => {
    const g = group(b, n)
    return { name: `${b} pick, ${n} peers`, run: () => { for (let i = 0; i < COUNT; i++) g.pick(keys[i], null) } }
  }))
}

const IDLE: UpstreamOwner = {
  onUpstreamConnect: () => {}, onUpstreamData: () => true, onUpstreamDrain: () => {}, onUpstreamClose: () => {}, onUpstreamBody: () => {},
}

/** The pool case needs connected sockets: made here, before the synchronous measurement. */
export async function poolCase(): Promise<{ cases: Case[]; close(): void }> {
  const srv = createServer(() => {})
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as AddressInfo).port
  const cfg = validate({ upstreams: { u: { peers: [`127.0.0.1:${port}`] } } })
  const g = new Group(cfg.upstreams.get('u')!, cfg.timeouts, LIMITS)
  const pool = g.peers[0].pool
  const conns = Array.from({ length: COUNT }, () => pool.open(IDLE))
  await new Promise((r) => setTimeout(r, 100))
  for (const c of conns) pool.release(c)
  const taken = new Array(COUNT)
  return {
    cases: [{
      name: 'pool take + release',
      run: () => {
        for (let i = 0; i < COUNT; i++) taken[i] = pool.take(IDLE)
        for (let i = 0; i < COUNT; i++) pool.release(taken[i])
      },
    }],
    close: () => { g.retire(); srv.close() },
  }
}
