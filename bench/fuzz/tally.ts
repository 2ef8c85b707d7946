/** What a campaign counts, and the failures it keeps (each with what is needed to replay it). */

export interface Failure {
  campaign: 'request' | 'response'
  /** The connection's input index: `make fuzz SEED=<seed> ONLY=<campaign>:<index>` replays it. */
  index: number
  kind: 'hang' | 'malformed' | 'mismatch' | 'split' | 'peer-refused' | 'unexpected-status' | 'desync' | 'orphan'
  detail: string
  /** The bytes sent (requests) or written by the peer (responses), latin1, cut at 4 KiB. */
  bytes: string
}

export class Tally {
  /** Messages generated and sent, and how many of them were mutated. */
  inputs = 0
  mutated = 0
  connections = 0
  /** Requests the peer answered and the client got back as such (request campaign). */
  forwarded = 0
  /** Final responses by who gave them and their status: "peer 200", "proxy 400", "cut"... */
  readonly outcomes = new Map<string, number>()
  /** Inputs per mutator. */
  readonly mutators = new Map<string, number>()
  failures = 0
  /** Failures by kind. */
  readonly kinds = new Map<string, number>()
  readonly kept: Failure[] = []

  count(map: Map<string, number>, key: string, n = 1): void {
    map.set(key, (map.get(key) ?? 0) + n)
  }

  fail(f: Failure): void {
    this.failures++
    this.count(this.kinds, f.kind)
    if (this.kept.length < 200) this.kept.push({ ...f, bytes: f.bytes.slice(0, 4096) })
  }

  /** Outcomes, most frequent first. */
  outcomeList(): string {
    return [...this.outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k}: ${v}`).join(', ')
  }
}
