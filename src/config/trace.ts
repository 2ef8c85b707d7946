/**
 * The `trace` key: which requests are traced without the admin API (src/trace/, docs/trace.md).
 *
 *   trace: { all: false, header_from: [127.0.0.1/32, 10.0.0.0/8] }
 *
 * `header_from`: addresses whose requests may ask for a trace with `rawproxy-trace: 1` (the field is
 * never forwarded, from anyone). `all`: every request is traced, into the admin API's ring.
 */
import type { TraceConfig } from './schema.js'
import { fail, join, list, object, str } from './validate.js'
import { parseCidr } from './cidr.js'

export function trace(v: unknown): TraceConfig {
  const path = 'trace'
  if (v === undefined || v === false) return { all: false, header_from: [] }
  const o = object(v, path, ['all', 'header_from'])
  if (o.all !== undefined && typeof o.all !== 'boolean') fail(join(path, 'all'), 'must be true or false')
  const from = o.header_from === undefined ? [] : list(o.header_from, join(path, 'header_from')).map((c, i) => {
    const at = join(join(path, 'header_from'), i)
    const s = str(c, at)
    if (parseCidr(s) === null) fail(at, `"${s}" is not an IP address or CIDR`)
    return s
  })
  return { all: o.all === true, header_from: from }
}
