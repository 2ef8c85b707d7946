/**
 * The edits filters make to a head: fields of the received head to remove (name sets compiled at
 * config load, tested on the bytes of each span), and lines to append. The head is rebuilt only when
 * there is an edit; an unedited response head still goes out as the peer sent it (DESIGN principle 1).
 */
import type { NameSet } from '../http/head.js'

export class HeadEdit {
  /** Removed from the received fields (and from the fields of a local answer, by name). */
  readonly drops: NameSet[] = []
  /** The lines added so far (CRLF-ended), and the lower-case name of each. */
  readonly #lines: string[] = []
  readonly #names: string[] = []
  /** Request side: a filter replaces Host, so the forwarding code adds none of its own. */
  host = false

  /** CRLF-ended lines appended after the received fields (and after our own forwarding fields). */
  get lines(): string {
    return this.#lines.length === 0 ? '' : this.#lines.length === 1 ? this.#lines[0] : this.#lines.join('')
  }

  /** Removes every received field named in `names`. */
  remove(names: NameSet): void {
    this.drops.push(names)
  }

  /** Appends `name: value`. The value is field text already (config/template.ts, filters/template.ts). */
  add(name: string, value: string): void {
    this.#lines.push(`${name}: ${value}\r\n`)
    this.#names.push(name.toLowerCase())
  }

  /**
   * Replaces every received field named in `names` (the same name, as a set) with `name: value`, and
   * a line an earlier filter added under that name: of two filters setting one field, the later one
   * wins (on a response, the one of lower order: a route's header rule over the listener's HSTS).
   */
  set(names: NameSet, name: string, value: string): void {
    this.drops.push(names)
    const lower = name.toLowerCase()
    for (let i = this.#names.indexOf(lower); i >= 0; i = this.#names.indexOf(lower)) {
      this.#names.splice(i, 1)
      this.#lines.splice(i, 1)
    }
    this.add(name, value)
  }

  /** The values of the lines added under `lower` (a lower-case name), in order. */
  valuesOf(lower: string): string[] {
    const out: string[] = []
    for (let i = 0; i < this.#names.length; i++) {
      if (this.#names[i] !== lower) continue
      const l = this.#lines[i]
      out.push(l.slice(l.indexOf(':') + 1, -2).trim())
    }
    return out
  }

  get changed(): boolean {
    return this.drops.length > 0 || this.#lines.length > 0
  }

  /** A field we write ourselves (`lower`: its lower-case name) is removed by an edit. */
  dropsName(lower: string): boolean {
    for (const d of this.drops) if (d.hasName(lower)) return true
    return false
  }
}
