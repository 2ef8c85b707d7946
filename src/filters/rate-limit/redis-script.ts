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
 * ARGV: the lease lifetime (ms), then per take its count of asks and ASK_ARGS per ask (`takeArgs`).
 * The reply, flat over every ask of every take: REPLY_INTS integers per ask: ok (1/0), wait,
 * remaining, reset, leased (1 when an inflight place was taken). Lua numbers come back to the client
 * truncated to integers, so wait and reset are ceiled in Lua.
 */
import type { Ask } from './store.js'

/** Values per ask in ARGV: kind, interval, burst, delay, max, dry, peek, token. */
export const ASK_ARGS = 8
/** Integers per ask in the reply. */
export const REPLY_INTS = 5

/**
 * Appends one take's ARGV to `out`: its count of asks, then each ask's; `tokens[from + i]` names ask
 * i's lease if it takes one. Numbers go as JS writes them: an interval such as 1000/3 keeps its digits
 * (Lua's tonumber reads them).
 */
export function takeArgs(out: (string | number)[], asks: readonly Ask[], tokens: readonly string[], from: number): void {
  out.push(asks.length)
  for (let i = 0; i < asks.length; i++) {
    const a = asks[i]
    const p = a.policy
    if (p.kind === 'rate') out.push('rate', p.interval, p.burst, p.delay ? 1 : 0, 0)
    else out.push('inflight', 0, 0, 0, p.max)
    out.push(a.dry ? 1 : 0, a.peek === true ? 1 : 0, tokens[from + i])
  }
}

/** Each step names its line in gcra.ts; keep the two in step. */
export const TAKE_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local lease = tonumber(ARGV[1])
-- Per take, overwritten by the next: indexes 1..n are set before they are read.
local ok, wait, left, reset, nxt = {}, {}, {}, {}, {}
local out = {}

-- One take: its n asks are KEYS[k + 1 .. k + n], their ARGV from index a0, their reply after k asks'.
local function take(k, a0, n)
  local refused = false
  -- judge(): every ask against the state before this take.
  for i = 1, n do
    local a = a0 + (i - 1) * ${ASK_ARGS}
    local key = KEYS[k + i]
    if ARGV[a] == 'inflight' then
      local max = tonumber(ARGV[a + 4])
      -- A lease past its expiry belongs to a process that died or forgot: it holds nothing.
      redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
      local held = redis.call('ZCARD', key)
      if held < max then
        ok[i], wait[i], left[i], reset[i], nxt[i] = 1, 0, max - held - 1, 0, true
      else
        ok[i], wait[i], left[i], reset[i], nxt[i] = 0, 1000, 0, 0, false
      end
    else
      local T = tonumber(ARGV[a + 1])
      local tau = T * tonumber(ARGV[a + 2])
      local delay = ARGV[a + 3] == '1'
      -- gcra.ts's steps, each taken relative to now: TIME in ms is about 1.7e12, where a double keeps
      -- only 1/4096 ms, so (now + tau) - tat would round across a whole request at the boundary.
      local ahead = math.max(tonumber(redis.call('GET', key) or now) - now, 0)
      -- Reject (TAT - tau > now) and delay (TAT - now > tau) refuse on the same condition.
      if ahead > tau then
        -- Refused: the next request conforms at TAT - tau (reject), or when the queue has room (delay).
        ok[i], wait[i], left[i], reset[i], nxt[i] = 0, math.ceil(ahead - tau), 0, math.ceil(ahead), false
      else
        ok[i] = 1
        if delay then wait[i] = math.ceil(ahead) else wait[i] = 0 end
        left[i] = math.max(0, math.floor((tau - ahead - T) / T) + 1)
        reset[i] = math.ceil(ahead + T)
        nxt[i] = now + ahead + T
      end
    end
    if ok[i] == 0 and ARGV[a + 5] == '0' then refused = true end
  end

  -- take(): commit what was admitted; a refusal by an enforced ask spends nothing of the others.
  for i = 1, n do
    local a = a0 + (i - 1) * ${ASK_ARGS}
    local dry, peek = ARGV[a + 5] == '1', ARGV[a + 6] == '1'
    local leased = 0
    if nxt[i] and not peek then
      if refused and not dry then
        left[i] = left[i] + 1
      elseif ARGV[a] == 'inflight' then
        redis.call('ZADD', KEYS[k + i], now + lease, ARGV[a + 7])
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
end

-- The takes in their order: each sees what the ones before it committed.
local k, a = 0, 2
while a <= #ARGV do
  local n = tonumber(ARGV[a])
  take(k, a + 1, n)
  k = k + n
  a = a + 1 + n * ${ASK_ARGS}
end
return out
`
