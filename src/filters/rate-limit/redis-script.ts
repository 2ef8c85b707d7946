/**
 * The Lua twin of gcra.ts `take()`, for the Redis store: one script call decides the takes of one
 * event-loop turn, in order, each as gcra.ts decides one. Redis runs a script alone, start to end, so
 * the all-or-nothing rule of each take holds across every proxy that shares the server
 * (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/), and a take sees what
 * the takes before it in the call committed. The clock is the server's (`TIME`, read once per call:
 * the takes of one call share one `now`), so the proxies' clocks never need to agree. Redis 7
 * replicates a script by its effects, so reading TIME before writing is allowed without flags.
 *
 * Keys: the asks of every take, in order; KEYS[j] is ask j's counter. A rate key holds the TAT as a
 * string (every digit of the double, %.17g) and expires when the TAT passes: an idle key holds nothing
 * and vanishes. An inflight key is a sorted set of leases, member a token unique to one ask, score the
 * lease's expiry (ms).
 *
 * ARGV (CallArgs): the lease lifetime (ms); the index in ARGV where the policies begin; then per take
 * its count of asks and, per ask, its code (policy index × 4 + dry × 2 + peek) followed, for an
 * inflight ask that is no peek, by its lease's token; then the call's distinct policies, POLICY_ARGS
 * each (kind, interval, burst, delay, max). A one-limit take is so three values with its key, not ten:
 * the client's work per take (flatten, stringify, write) and the server's parse follow their count
 * (measured at 12 takes a turn: 6.6 to 10.8 µs of the proxy's CPU per take with ten, 4.5 with three).
 *
 * The reply, flat over every ask of every take: REPLY_INTS integers per ask: ok (1/0), wait,
 * remaining, reset, leased (1 when an inflight place was taken). Lua numbers come back to the client
 * truncated to integers, so wait and reset are ceiled in Lua.
 */
import type { Ask, Policy } from './store.js'

/** Values per policy in ARGV: kind, interval, burst, delay, max. */
export const POLICY_ARGS = 5
/** Integers per ask in the reply. */
export const REPLY_INTS = 5

/** The KEYS and ARGV of one call, built take by take. */
export class CallArgs {
  /** Every ask's key, prefixed. */
  readonly keys: string[] = []
  /** Every ask's lease token; '' for an ask that takes no lease (rate, or peek). */
  readonly tokens: string[] = []
  readonly argv: (string | number)[]
  readonly #prefix: string
  readonly #token: () => string
  readonly #policies = new Map<Policy, number>()
  readonly #policyArgs: (string | number)[] = []

  /** `token()` names a new lease, unique among the stores that share the server. */
  constructor(leaseMs: number, prefix: string, token: () => string) {
    this.argv = [leaseMs, 0]
    this.#prefix = prefix
    this.#token = token
  }

  add(asks: readonly Ask[]): void {
    const argv = this.argv
    argv.push(asks.length)
    for (let i = 0; i < asks.length; i++) {
      const a = asks[i]
      const lease = a.policy.kind === 'inflight' && a.peek !== true
      argv.push(this.#policy(a.policy) * 4 + (a.dry ? 2 : 0) + (a.peek === true ? 1 : 0))
      const token = lease ? this.#token() : ''
      if (lease) argv.push(token)
      this.keys.push(this.#prefix + a.key)
      this.tokens.push(token)
    }
  }

  /** ARGV complete: the policies after the takes. Call once, after the last `add`. */
  done(): (string | number)[] {
    this.argv[1] = this.argv.length + 1 // Lua counts from 1
    for (const v of this.#policyArgs) this.argv.push(v)
    return this.argv
  }

  /** The policy's index in this call. Numbers go as JS writes them: 1000/3 keeps its digits. */
  #policy(p: Policy): number {
    let i = this.#policies.get(p)
    if (i !== undefined) return i
    i = this.#policies.size
    this.#policies.set(p, i)
    if (p.kind === 'rate') this.#policyArgs.push('rate', p.interval, p.burst, p.delay ? 1 : 0, 0)
    else this.#policyArgs.push('inflight', 0, 0, 0, p.max)
    return i
  }
}

/** Each step names its line in gcra.ts; keep the two in step. */
export const TAKE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local lease = tonumber(ARGV[1])
local first = tonumber(ARGV[2])

-- The call's policies, by index from 0.
local inflight, T, tau, delay, max = {}, {}, {}, {}, {}
for a = first, #ARGV, ${POLICY_ARGS} do
  local p = (a - first) / ${POLICY_ARGS}
  inflight[p] = ARGV[a] == 'inflight'
  T[p] = tonumber(ARGV[a + 1])
  tau[p] = T[p] * tonumber(ARGV[a + 2])
  delay[p] = ARGV[a + 3] == '1'
  max[p] = tonumber(ARGV[a + 4])
end

-- Per take, overwritten by the next: indexes 1..n are set before they are read.
local pol, dry, peek, token, ok, wait, left, reset, nxt = {}, {}, {}, {}, {}, {}, {}, {}, {}
local out = {}

-- One take: its n asks are KEYS[k + 1 .. k + n], their codes from ARGV[a]; answers where its next take begins.
local function take(k, a, n)
  local refused = false
  -- judge(): every ask against the state before this take.
  for i = 1, n do
    local code = tonumber(ARGV[a])
    local p = math.floor(code / 4)
    pol[i], dry[i], peek[i] = p, code % 4 >= 2, code % 2 == 1
    a = a + 1
    if inflight[p] and not peek[i] then token[i] = ARGV[a]; a = a + 1 end
    local key = KEYS[k + i]
    -- A key of the other kind (a limit that changed from a rate to max_inflight or back, under one
    -- name and prefix) would fail this call with WRONGTYPE, and so every request of the turn: it is
    -- that key's old state, dropped, and the limit starts afresh under it.
    local kind = redis.call('TYPE', key).ok
    if kind ~= 'none' and kind ~= (inflight[p] and 'zset' or 'string') then redis.call('DEL', key) end
    if inflight[p] then
      -- A lease past its expiry belongs to a process that died or forgot: it holds nothing.
      redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
      local held = redis.call('ZCARD', key)
      if held < max[p] then
        ok[i], wait[i], left[i], reset[i], nxt[i] = 1, 0, max[p] - held - 1, 0, true
      else
        ok[i], wait[i], left[i], reset[i], nxt[i] = 0, 1000, 0, 0, false
      end
    else
      -- gcra.ts's steps, each taken relative to now: TIME in ms is about 1.7e12, where a double keeps
      -- only 1/4096 ms, so (now + tau) - tat would round across a whole request at the boundary.
      local ahead = math.max(tonumber(redis.call('GET', key) or now) - now, 0)
      -- Reject (TAT - tau > now) and delay (TAT - now > tau) refuse on the same condition.
      if ahead > tau[p] then
        -- Refused: the next request conforms at TAT - tau (reject), or when the queue has room (delay).
        ok[i], wait[i], left[i], reset[i], nxt[i] = 0, math.ceil(ahead - tau[p]), 0, math.ceil(ahead), false
      else
        ok[i] = 1
        if delay[p] then wait[i] = math.ceil(ahead) else wait[i] = 0 end
        left[i] = math.max(0, math.floor((tau[p] - ahead - T[p]) / T[p]) + 1)
        reset[i] = math.ceil(ahead + T[p])
        nxt[i] = now + ahead + T[p]
      end
    end
    if ok[i] == 0 and not dry[i] then refused = true end
  end

  -- take(): commit what was admitted; a refusal by an enforced ask spends nothing of the others.
  for i = 1, n do
    local leased = 0
    if nxt[i] and not peek[i] then
      if refused and not dry[i] then
        left[i] = left[i] + 1
      elseif inflight[pol[i]] then
        redis.call('ZADD', KEYS[k + i], now + lease, token[i])
        -- The newest lease expires last: the set goes with it when nobody gives its places back.
        redis.call('PEXPIRE', KEYS[k + i], lease)
        leased = 1
      else
        redis.call('SET', KEYS[k + i], string.format('%.17g', nxt[i]), 'PX', math.ceil(nxt[i] - now) + 1)
      end
    end
    local o = (k + i - 1) * ${REPLY_INTS}
    out[o + 1], out[o + 2], out[o + 3], out[o + 4], out[o + 5] = ok[i], wait[i], left[i], reset[i], leased
  end
  return a
end

-- The takes in their order: each sees what the ones before it committed.
local k, a = 0, 3
while a < first do
  local n = tonumber(ARGV[a])
  a = take(k, a + 1, n)
  k = k + n
end
return out
`
