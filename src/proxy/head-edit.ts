/**
 * The edits filters make to a head: fields of the received head to remove (name sets compiled at
 * config load, tested on the bytes of each span), and lines to append. The head is rebuilt only when
 * there is an edit; an unedited response head still goes out as the peer sent it (DESIGN principle 1).
 */
import type { NameSet } from '../http/head.js'

export class HeadEdit {
  /** Removed from the received fields (and from the fields of a local answer, by name). */
  readonly drops: NameSet[] = []
  /** CRLF-ended lines appended after the received fields (and after our own forwarding fields). */
  lines = ''
  /** Request side: a filter replaces Host, so the forwarding code adds none of its own. */
  host = false

  /** Removes every received field named in `names`. */
  remove(names: NameSet): void {
    this.drops.push(names)
  }

  /** Appends `name: value`. The value is field text already (config/template.ts, filters/template.ts). */
  add(name: string, value: string): void {
    this.lines += `${name}: ${value}\r\n`
  }

  /** Replaces every received field named in `names` (the same name, as a set) with `name: value`. */
  set(names: NameSet, name: string, value: string): void {
    this.drops.push(names)
    this.lines += `${name}: ${value}\r\n`
  }

  get changed(): boolean {
    return this.drops.length > 0 || this.lines !== ''
  }

  /** A field we write ourselves (`lower`: its lower-case name) is removed by an edit. */
  dropsName(lower: string): boolean {
    for (const d of this.drops) if (d.hasName(lower)) return true
    return false
  }
}
