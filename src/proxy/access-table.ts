/**
 * The verdicts of an `access` config (config/access.ts), for a route's access filter and a listener's
 * accept check alike: the most specific entry covering the address decides (true lets it in), deny
 * entries go after allow entries so that a deny wins a tie at the same prefix (CidrTable: the later
 * entry wins), and an address no entry covers gets the default.
 */
import type { AccessConfig } from '../config/features.js'
import { CidrTable } from '../config/cidr.js'

export class AccessTable {
  readonly #table: CidrTable<boolean>
  readonly #default: boolean

  constructor(cfg: AccessConfig) {
    this.#table = new CidrTable<boolean>([...cfg.allow.map((c) => [c, true] as const), ...cfg.deny.map((c) => [c, false] as const)])
    this.#default = cfg.default === 'allow'
  }

  allows(addr: string): boolean {
    return this.#table.lookup(addr) ?? this.#default
  }
}
