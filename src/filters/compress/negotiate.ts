/**
 * Accept-Encoding, RFC 9110 §12.5.3: which of our codings a client takes, by q-value, with `*` for
 * any coding it does not name, `identity;q=0`, and ties broken by the server's order of preference.
 */
import type { Coding } from '../../config/compress.js'

/** What one Accept-Encoding value allows. */
export class Accepted {
  constructor(
    /** The coding to send, or null: send the content as it is (identity). */
    readonly coding: Coding | null,
    /** A gzip-coded content may go to this client as it is (else it is decoded for it, filters/compress.ts). */
    readonly gzip: boolean,
  ) {}
}

/** §12.5.3: an empty value means "identity only". */
const IDENTITY_ONLY = new Accepted(null, false)
/** RFC 9110 §12.4.2: a qvalue has at most three decimals. */
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/

/** The q-value of each coding named in `value` (lower-case); a malformed q-value counts as 0. */
function weights(value: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const item of value.split(',')) {
    const parts = item.split(';')
    const coding = parts[0].trim().toLowerCase()
    if (coding === '') continue
    let q = 1
    for (let i = 1; i < parts.length; i++) {
      const p = parts[i].trim()
      if (p.length < 2 || (p[0] !== 'q' && p[0] !== 'Q') || p[1] !== '=') continue
      const v = p.slice(2).trim()
      q = QVALUE.test(v) ? Number(v) : 0
    }
    // x-gzip is gzip (RFC 9110 §8.4.1.3).
    out.set(coding === 'x-gzip' ? 'gzip' : coding, q)
  }
  return out
}

/**
 * The choice for the (joined) Accept-Encoding `value` among `offered`, most preferred first. The
 * highest q-value wins, ties go to the earlier in `offered`; identity wins only when the client
 * gives it a q-value above every coding's (named without one, it ranks last: RFC 9110 §12.5.3
 * says it is acceptable, not preferred).
 */
export function negotiate(value: string, offered: readonly Coding[]): Accepted {
  const w = weights(value)
  if (w.size === 0) return IDENTITY_ONLY
  const any = w.get('*')
  const q = (c: string): number => w.get(c) ?? any ?? 0
  let best: Coding | null = null
  let bestQ = 0
  for (const c of offered) {
    const v = q(c)
    if (v > bestQ) { best = c; bestQ = v }
  }
  const identity = w.get('identity')
  if (identity !== undefined && identity > bestQ) best = null
  return new Accepted(best, q('gzip') > 0)
}

/** Remembers the answer for the values a route sees most (browsers send a handful of fixed strings). */
export class Negotiator {
  readonly #offered: readonly Coding[]
  readonly #seen = new Map<string, Accepted>()

  constructor(offered: readonly Coding[]) {
    this.#offered = offered
  }

  accepted(value: string): Accepted {
    let a = this.#seen.get(value)
    if (a !== undefined) return a
    a = negotiate(value, this.#offered)
    // Bounded: a client sending made-up values cannot grow it.
    if (this.#seen.size < 256) this.#seen.set(value, a)
    return a
  }
}
