/**
 * The response campaign: per connection, 1 to 4 requests one after another (GET or HEAD `/res/ID`);
 * for each, the raw peer writes response ID, valid or mutated once, and keeps its connection open
 * unless the response is delimited by its close or the independent parser finds it unfinished. The
 * oracles, per request:
 * - an answer (or the proxy's close) within the deadline: else a hang;
 * - what the client receives parses cleanly with the independent parser (a connection cut short
 *   inside a response is allowed: that is how a proxy says "the peer failed mid-body");
 * - a whole response is either the proxy's 502/504, or has the status and body that the peer's
 *   framing meant, read by the independent parser from the peer's bytes; and it is this request's
 *   response (its ID), never a neighbour's left on a reused peer socket (desync).
 */
import { Rng } from './rng.js'
import { mutate } from './draft.js'
import { response, responseBytes, RESPONSE_MUTATORS } from './responses.js'
import { parse, values, type Msg } from './reference.js'
import { Conn } from './client.js'
import type { Planned } from './peers.js'
import type { Tally } from './tally.js'

export const RESPONSE_STREAM = 0x52455350
/** Requests per connection at most: IDs are index × 8 + j. */
const PER = 4

export interface ResponseCase extends Planned { id: number; head: boolean; mutator: string | null }

/** The responses of response-connection `index` of campaign `seed`. */
export function responseInputs(seed: number, index: number): ResponseCase[] {
  const r = Rng.of(seed ^ RESPONSE_STREAM, index)
  const out: ResponseCase[] = []
  for (let j = r.int(1, PER) - 1; j >= 0; j--) {
    const id = index * 8 + out.length
    const head = r.chance(0.12)
    const x = response(r, id, head)
    const m = r.chance(0.75) ? mutate(r, x.draft, RESPONSE_MUTATORS) : null
    const bytes = responseBytes(x, m?.bytes)
    // Unfinished or refused by the independent parser: the peer closes after it, or the proxy would
    // wait for the rest until its timeout.
    const open = parse('response', bytes, false, () => head)
    const closes = x.closes || open.error !== null || open.incomplete || !open.msgs.some((q) => q.status >= 200)
    out.push({ id, head, bytes, closes, mutator: m?.name ?? null })
  }
  return out
}

function whole(m: Msg | undefined): m is Msg {
  return m !== undefined
}

export async function responseConnection(seed: number, index: number, port: number, plans: Map<number, ResponseCase>, t: Tally, deadlineMs: number): Promise<void> {
  const cases = responseInputs(seed, index)
  for (const x of cases) plans.set(x.id, x)
  t.connections++
  let c: Conn | null = null
  let sentHere: ResponseCase[] = []
  try {
    for (const x of cases) {
      t.inputs++
      if (x.mutator !== null) { t.mutated++; t.count(t.mutators, x.mutator) }
      if (c === null || c.closed) { c?.destroy(); c = new Conn(port); sentHere = [] }
      sentHere.push(x)
      const conn: Conn = c
      const n = sentHere.length
      const heads = sentHere.map((y) => y.head)
      conn.socket.write(`${x.head ? 'HEAD' : 'GET'} /res/${x.id} HTTP/1.1\r\nHost: fuzz.test\r\n\r\n`)
      const done = await conn.wait(() => parse('response', conn.bytes, false, (i) => heads[i]).msgs.filter((m) => m.status >= 200).length >= n, deadlineMs)
      const fail = (kind: Parameters<Tally['fail']>[0]['kind'], detail: string): void => {
        t.fail({ campaign: 'response', index, kind, detail: `id ${x.id}: ${detail}`, bytes: x.bytes.toString('latin1') })
      }
      if (!done) { fail('hang', `no answer or close within ${deadlineMs} ms`); return }
      const got = parse('response', conn.bytes, false, (i) => heads[i])
      const finals = got.msgs.filter((m) => m.status >= 200)
      if (got.error !== null) { fail('malformed', `the client's bytes do not parse: ${got.error}; ${JSON.stringify(conn.bytes.toString('latin1').slice(-300))}`); return }
      const m = finals[n - 1]
      if (!whole(m)) { t.count(t.outcomes, 'cut'); continue }
      const meant = parse('response', x.bytes, x.closes, () => x.head).msgs.find((q) => q.status >= 200)
      const id = values(m.headers, 'x-fuzz-id')
      if (id.length === 0 && (m.status === 502 || m.status === 504)) { t.count(t.outcomes, `proxy ${m.status}`); continue }
      // (No id at all is allowed: a peer's Connection may name X-Fuzz-Id, and the proxy drops it.)
      if (meant !== undefined && id.length > 0 && id.join() !== values(meant.headers, 'x-fuzz-id').join()) { fail('desync', `the client got the response with id ${JSON.stringify(id)}`); return }
      if (meant === undefined) { fail('mismatch', `the peer's bytes hold no whole response, the client got ${m.status} with ${m.body.length} bytes`); return }
      if (m.status !== meant.status) { fail('mismatch', `status ${meant.status} arrived as ${m.status}`); return }
      if (!m.body.equals(meant.body)) { fail('mismatch', `a body of ${meant.body.length} bytes arrived as ${m.body.length} bytes (or other bytes)`); return }
      t.count(t.outcomes, `peer ${m.status}`)
    }
  } finally {
    c?.destroy()
    for (const x of cases) plans.delete(x.id)
  }
}
