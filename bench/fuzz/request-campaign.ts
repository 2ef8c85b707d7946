/**
 * The request campaign: per connection, 1 to 6 valid requests pipelined, one of them (most of the
 * time) mutated once; written whole or split across reads, then the client half-closes and waits for
 * the proxy to close. The oracles:
 * - the connection ends (the proxy closes) within the deadline: else a hang;
 * - what came back parses cleanly with the independent parser (one response per request, in order);
 * - response i, when the peer's echo, is request i as the independent parser read the client's bytes,
 *   under the documented rewrites (expected.ts): no request split, merged, or read another way;
 * - a response the proxy made itself is a 4xx (or the end of the stream), never a 5xx or a success;
 * - no more responses than the independent parser found requests (plus one refusal of a bad tail);
 * - at the end, every request the peer parsed reached a client as its echo (no orphan: nothing
 *   smuggled past the proxy's framing), and the peer's parser refused nothing the proxy forwarded.
 */
import { Rng } from './rng.js'
import { mutate, serialize } from './draft.js'
import { request, REQUEST_MUTATORS } from './requests.js'
import { parse, values } from './reference.js'
import { differs } from './expected.js'
import { Conn, cuts } from './client.js'
import type { EchoPeer } from './peers.js'
import type { Tally } from './tally.js'

/** Seeds of the request and response campaigns are apart, so either can be replayed alone. */
export const REQUEST_STREAM = 0x52455155

export interface RequestInput { bytes: Buffer; pieces: Buffer[]; messages: number; mutators: string[] }

/** The bytes of request-connection `index` of campaign `seed`. */
export function requestInput(seed: number, index: number): RequestInput {
  const r = Rng.of(seed ^ REQUEST_STREAM, index)
  const n = r.int(1, 6)
  const at = r.chance(0.85) ? r.int(0, n - 1) : -1
  const parts: Buffer[] = []
  const mutators: string[] = []
  for (let k = 0; k < n; k++) {
    const d = request(r)
    if (k !== at) { parts.push(serialize(d)); continue }
    const m = mutate(r, d, REQUEST_MUTATORS)
    parts.push(m.bytes)
    mutators.push(m.name)
  }
  const bytes = Buffer.concat(parts)
  const pieces = r.chance(0.2) ? cuts(bytes, [r.int(1, bytes.length), r.int(1, bytes.length), r.int(1, bytes.length)].slice(0, r.int(1, 3))) : [bytes]
  return { bytes, pieces, messages: n, mutators }
}

/** Client addresses: one loopback address per client slot, so the peer's X-Forwarded-For names it. */
export function slotAddress(slot: number): string {
  return `127.0.0.${10 + (slot % 200)}`
}

export async function requestConnection(seed: number, index: number, slot: number, port: number, peer: EchoPeer, t: Tally, deadlineMs: number): Promise<void> {
  const x = requestInput(seed, index)
  t.connections++
  t.inputs += x.messages
  t.mutated += x.mutators.length
  for (const m of x.mutators) t.count(t.mutators, m)
  const client = slotAddress(slot)
  const c = new Conn(port, client)
  await new Promise<void>((resolve) => { c.socket.once('connect', resolve); c.socket.once('close', () => resolve()) })
  await c.send(x.pieces, true)
  const ended = await c.wait(() => false, deadlineMs)
  c.destroy()
  const fail = (kind: Parameters<Tally['fail']>[0]['kind'], detail: string): void => {
    t.fail({ campaign: 'request', index, kind, detail, bytes: x.bytes.toString('latin1') })
  }
  if (!ended) { fail('hang', `no close within ${deadlineMs} ms; received ${JSON.stringify(c.bytes.toString('latin1').slice(0, 300))}`); return }
  const sent = parse('request', x.bytes, true)
  const got = responses(c.bytes, sent.heads)
  const finals = got.msgs.filter((m) => m.status >= 200)
  const echoes = finals.map((m) => { const n = values(m.headers, 'x-fuzz-echo'); return n.length === 0 ? null : peer.take(Number(n[0])) ?? null })
  let checked = finals.length
  for (let i = 0; i < finals.length; i++) {
    const m = finals[i]
    const ref = sent.msgs[i]
    if (ref?.upgrade || ref?.method === 'CONNECT') { checked = i; break } // another protocol from here on
    if (values(m.headers, 'x-fuzz-peer-refused').length > 0) { fail('peer-refused', `request ${i}: the peer's parser refused what the proxy forwarded`); return }
    const e = echoes[i]
    if (values(m.headers, 'x-fuzz-echo').length > 0) {
      if (e === null) { fail('desync', `response ${i} is the peer's answer to a request whose answer another client already got`); return }
      if (ref === undefined) { fail('split', `response ${i} is the peer's answer to a request the independent parser does not see (it found ${sent.msgs.length}): ${JSON.stringify(e).slice(0, 400)}`); return }
      const why = differs(ref, e, client, `127.0.0.1:${peer.port}`)
      if (why !== null) { fail('mismatch', `request ${i}: ${why}`); return }
      t.forwarded++
      t.count(t.outcomes, 'peer 200')
      continue
    }
    t.count(t.outcomes, `proxy ${m.status}`)
    // The proxy's own answers here are refusals of the client's bytes: 4xx, or 501 for CONNECT.
    if (m.status < 400 || (m.status >= 500 && m.status !== 501 && m.status !== 505)) { fail('unexpected-status', `request ${i}: the proxy answered ${m.status} itself`); return }
  }
  if (checked < finals.length) return
  if (got.error !== null || got.incomplete) { fail('malformed', `the responses do not parse: ${got.error ?? 'cut short'} after ${finals.length}; ${JSON.stringify(c.bytes.toString('latin1').slice(-300))}`); return }
  const tail = sent.error !== null || sent.incomplete ? 1 : 0
  if (finals.length > sent.msgs.length + tail) fail('split', `${finals.length} responses to ${sent.msgs.length} requests (${sent.error ?? 'whole'})`)
  if (finals.length === 0) t.count(t.outcomes, 'closed without an answer')
}

/**
 * The responses as the independent parser reads them, knowing which answer a HEAD. A request whose
 * head Node's parser could not read may still have been read by the proxy as a HEAD (its refusal
 * then has no content): failing the first reading, the unknown ones are taken as HEAD.
 */
function responses(bytes: Buffer, heads: string[]): ReturnType<typeof parse> {
  const first = parse('response', bytes, true, (i) => heads[i] === 'HEAD')
  if (first.error === null && !first.incomplete) return first
  const second = parse('response', bytes, true, (i) => i >= heads.length || heads[i] === 'HEAD')
  return second.error === null && !second.incomplete ? second : first
}
