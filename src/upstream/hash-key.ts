/**
 * The key the `hash` balancer hashes, taken from the request as its group's `hash_key` says: the
 * client's address, the path (without the query), a header's value, or a cookie's value. null when
 * the request has none, and then the pick is round-robin (as HAProxy does for a missing header).
 */
import type { HashKey } from '../config/schema.js'
import { Head, name } from '../http/head.js'

const COOKIE = name('cookie')

export class KeySource {
  readonly #from: HashKey['from']
  readonly #field: Buffer | null
  readonly #cookie: string

  constructor(k: HashKey) {
    this.#from = k.from
    this.#field = k.from === 'header' ? name(k.name) : null
    this.#cookie = k.from === 'cookie' ? k.name : ''
  }

  key(h: Head, path: string, client: string): string | null {
    switch (this.#from) {
      case 'client_ip': return client
      case 'path': { const q = path.indexOf('?'); return q < 0 ? path : path.slice(0, q) }
      case 'header': return h.get(this.#field!) ?? null
      case 'cookie': return cookie(h, this.#cookie)
    }
  }
}

/** RFC 6265 §4.2.1: `Cookie: a=1; b=2`, possibly over several fields. */
function cookie(h: Head, want: string): string | null {
  for (let i = h.find(COOKIE); i >= 0; i = h.find(COOKIE, i + 1)) {
    for (const pair of h.value(i).split(';')) {
      const eq = pair.indexOf('=')
      if (eq > 0 && pair.slice(0, eq).trim() === want) return pair.slice(eq + 1).trim()
    }
  }
  return null
}
