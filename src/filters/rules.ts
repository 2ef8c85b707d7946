/**
 * `rules`: an ordered list of `match` + action, first match wins (config/rules.ts has the grammar).
 * `deny` answers its status (cause PR), `respond` its status and body and `redirect` its Location
 * (cause LR), `allow` stops the list. Regexes are compiled once per config; paths are matched in the
 * form routes use (RequestInfo.route, http/path.ts): the strictest reading a common peer may give them,
 * so an encoding, a dot-segment, a doubled slash or a path parameter cannot walk around a rule.
 *
 * Order 30: after access and the limits, before auth, as nginx's rewrite phase (`return`) comes
 * before its access phase: a redirect, a health answer or a 404 for a hidden path asks no password.
 */
import type { Rule, RuleMatch, ValueMatch } from '../config/features.js'
import { CidrList } from '../config/cidr.js'
import { Head, name } from '../http/head.js'
import { configPath, latin1Of, percentDecode } from '../http/path.js'
import type { Exchange } from '../proxy/exchange.js'
import type { Filter, FilterFactory, FilterKind } from '../proxy/filter.js'
import { Reply } from '../proxy/reply.js'
import { Fill, compile } from './template.js'
import { globMatcher } from './glob.js'

/** What one request offers the matchers, worked out once per request and only when asked. */
class Facts {
  readonly x: Exchange
  #lower: string | null = null
  #query: Map<string, string[]> | null = null

  constructor(x: Exchange) { this.x = x }

  get path(): string { return this.x.info.route }

  /** The path in lower case, for `ignore_case` matches. */
  get lower(): string { return this.#lower ??= this.x.info.route.toLowerCase() }

  /** The query's parameters (application/x-www-form-urlencoded: `+` is a space), names and values decoded. */
  param(key: string): string[] | undefined {
    if (this.#query === null) {
      this.#query = new Map()
      const p = this.x.info.path
      const q = p.indexOf('?')
      if (q >= 0) {
        for (const pair of p.slice(q + 1).split('&')) {
          if (pair === '') continue
          const eq = pair.indexOf('=')
          const k = decode(eq < 0 ? pair : pair.slice(0, eq))
          const list = this.#query.get(k) ?? []
          list.push(eq < 0 ? '' : decode(pair.slice(eq + 1)))
          this.#query.set(k, list)
        }
      }
    }
    return this.#query.get(key)
  }
}

function decode(s: string): string {
  const bytes = percentDecode(s.replace(/\+/g, ' '))
  const utf8 = Buffer.from(bytes, 'latin1').toString('utf8')
  // Not UTF-8: keep the bytes as latin1 characters rather than replacement characters.
  return utf8.includes('\ufffd') ? bytes : utf8
}

type Test = (f: Facts) => boolean

function valueTest(m: ValueMatch): (values: string[] | undefined) => boolean {
  if (m === true) return (v) => v !== undefined
  if (m === false) return (v) => v === undefined
  if ('equals' in m) { const want = m.equals; return (v) => v !== undefined && v.includes(want) }
  const re = new RegExp(m.regex)
  return (v) => v !== undefined && v.some((s) => re.test(s))
}

/** Every value of the fields named `field` (lower-case bytes), or undefined when there is none. */
function fieldValues(h: Head, field: Buffer): string[] | undefined {
  let out: string[] | undefined
  for (let i = h.find(field); i >= 0; i = h.find(field, i + 1)) (out ??= []).push(h.value(i))
  return out
}

function prefix(p: string, ignoreCase: boolean): Test {
  return (f) => {
    const path = ignoreCase ? f.lower : f.path
    return p === '/' || (path.startsWith(p) && (path.length === p.length || path.charCodeAt(p.length) === 0x2f))
  }
}

/** The tests of one `match`, cheapest first; every one must hold. */
function tests(m: RuleMatch): Test[] {
  const out: Test[] = []
  if (m.methods !== null) { const set = new Set(m.methods); out.push((f) => set.has(f.x.methodText)) }
  if (m.host !== null) {
    const exact = new Set(m.host.filter((h) => !h.startsWith('*.')))
    const suffixes = m.host.filter((h) => h.startsWith('*.')).map((h) => h.slice(1))
    out.push((f) => { const h = f.x.info.host; return exact.has(h) || suffixes.some((s) => h.endsWith(s) && h.length > s.length) })
  }
  const flags = m.ignore_case ? 'i' : ''
  if (m.path !== null) out.push(prefix(m.ignore_case ? configPath(m.path).toLowerCase() : configPath(m.path), m.ignore_case))
  if (m.path_glob !== null) { const g = globMatcher(latin1Of(m.path_glob), m.ignore_case); out.push((f) => g(f.path)) }
  if (m.path_regex !== null) { const re = new RegExp(m.path_regex, flags); out.push((f) => re.test(f.path)) }
  for (const [n, vm] of m.headers ?? []) { const field = name(n); const t = valueTest(vm); out.push((f) => t(fieldValues(f.x.head, field))) }
  for (const [k, vm] of m.query ?? []) { const t = valueTest(vm); out.push((f) => t(f.param(k))) }
  if (m.client !== null) { const list = new CidrList(m.client); out.push((f) => list.has(f.x.clientIp)) }
  return out
}

interface Compiled {
  readonly tests: readonly Test[]
  /** null: allow (stop checking). */
  readonly reply: Reply | null
  /** redirect: the Location, filled per request. */
  readonly location: Fill | null
  readonly status: number
}

function compileRule(r: Rule): Compiled {
  const location = r.location === null ? null : compile(r.location)
  const reply = r.action === 'allow' ? null : new Reply(r.status, '', r.body, r.action === 'deny' ? 'PR' : 'LR')
  return { tests: tests(r.match), reply, location, status: r.status }
}

/** Every test holds (a loop: no closure per rule and request). */
function holds(tests: readonly Test[], f: Facts): boolean {
  for (let i = 0; i < tests.length; i++) if (!tests[i](f)) return false
  return true
}

class Rules implements FilterFactory, Filter {
  readonly name = 'rules'
  readonly order = 30
  readonly #rules: readonly Compiled[]

  constructor(rules: readonly Rule[]) {
    this.#rules = rules.map(compileRule)
  }

  attach(): Filter { return this }

  requestHead(x: Exchange): Reply | undefined {
    const facts = new Facts(x)
    for (const r of this.#rules) {
      if (!holds(r.tests, facts)) continue
      if (r.location !== null) return new Reply(r.status, `Location: ${r.location(x)}\r\n`, null, 'LR')
      return r.reply ?? undefined
    }
    return undefined
  }
}

export const rules: FilterKind = {
  name: 'rules',
  compile: (f) => f.rules === null || f.rules.length === 0 ? null : new Rules(f.rules),
}
