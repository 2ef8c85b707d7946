/**
 * The `compress` key of a route or of `defaults`: response compression, negotiated per RFC 9110
 * §12.5.3 (src/filters/compress.ts). Validated into plain data (it crosses the cluster channel whole).
 *
 *   compress:
 *     codings: [br, gzip]          # the server's order of preference: it breaks ties of q-values
 *     levels: { gzip: 6, br: 4 }
 *     types: [text/*, application/json, +json, +xml, image/svg+xml]
 *     min_length: 512              # a known Content-Length under this is sent as it is
 *     decode: true                 # a peer's gzip is decoded for a client that does not accept it
 *     copies_max_size: 32m         # compressed copies of cache hits kept in memory (filters/compress/copies.ts)
 */
import { fail, int, join, list, object, size, str } from './validate.js'

/** The codings we can produce; Node 20 has no zstd (it would be one more row here and in compress/coder.ts). */
export const CODINGS = ['br', 'gzip'] as const
export type Coding = typeof CODINGS[number]

export interface CompressConfig {
  /** Offered codings, most preferred first. */
  readonly codings: readonly Coding[]
  /** zlib's level 1-9 for gzip; brotli's quality 0-11 for br. */
  readonly gzip_level: number
  readonly br_quality: number
  /** Lower-case media types: "type/sub", "type/*" or "+suffix" (RFC 6838 §4.2.8). */
  readonly types: readonly string[]
  readonly min_length: number
  readonly decode: boolean
  readonly copies_max_size: number
}

/**
 * gzip 6 is zlib's own default and the value Debian's nginx.conf suggests (`gzip_comp_level 6`):
 * nearly the ratio of 9 for a third of its CPU. Brotli 4 compresses JSON and HTML better than gzip 6
 * at about the same CPU; its default of 11 is meant for static files, tens of times slower.
 */
export const COMPRESS_DEFAULTS = {
  codings: ['br', 'gzip'] as readonly Coding[],
  gzip_level: 6,
  br_quality: 4,
  types: [
    'text/*', 'application/json', 'application/javascript', 'application/x-javascript', 'application/ecmascript',
    'application/xml', '+json', '+xml', 'image/svg+xml', 'application/wasm', 'font/ttf', 'font/otf',
    'application/vnd.ms-fontobject', 'image/x-icon', 'image/bmp',
  ] as readonly string[],
  min_length: 512,
  copies_max_size: 32 * 1024 * 1024,
}

const KEYS = ['codings', 'levels', 'types', 'min_length', 'decode', 'copies_max_size']
/** RFC 9110 §8.3.1: type "/" subtype, each a token; or "type/*", or "+suffix". */
const TYPE = /^([!#$%&'*+\-.^_`|~0-9a-z]+\/([!#$%&'+\-.^_`|~0-9a-z]+|\*)|\+[!#$%&'\-.^_`|~0-9a-z]+)$/

export function compress(v: unknown, path: string): CompressConfig {
  const o = object(v === true ? {} : v, path, KEYS)
  const at = (k: string): string => join(path, k)
  const levels = o.levels === undefined ? {} : object(o.levels, at('levels'), [...CODINGS])
  if (o.decode !== undefined && typeof o.decode !== 'boolean') fail(at('decode'), 'must be true or false')
  return {
    codings: o.codings === undefined ? COMPRESS_DEFAULTS.codings : codings(o.codings, at('codings')),
    gzip_level: levels.gzip === undefined ? COMPRESS_DEFAULTS.gzip_level : int(levels.gzip, join(at('levels'), 'gzip'), 1, 9),
    br_quality: levels.br === undefined ? COMPRESS_DEFAULTS.br_quality : int(levels.br, join(at('levels'), 'br'), 0, 11),
    types: o.types === undefined ? COMPRESS_DEFAULTS.types : list(o.types, at('types')).map((t, i) => {
      const s = str(t, join(at('types'), i)).trim().toLowerCase()
      if (!TYPE.test(s)) fail(join(at('types'), i), 'must be a media type such as text/html, text/* or +json')
      return s
    }),
    min_length: o.min_length === undefined ? COMPRESS_DEFAULTS.min_length : size(o.min_length, at('min_length')),
    decode: o.decode !== false,
    copies_max_size: o.copies_max_size === undefined ? COMPRESS_DEFAULTS.copies_max_size : size(o.copies_max_size, at('copies_max_size')),
  }
}

function codings(v: unknown, path: string): Coding[] {
  const out = list(v, path).map((c, i) => {
    const s = str(c, join(path, i)).toLowerCase()
    if (!(CODINGS as readonly string[]).includes(s)) fail(join(path, i), `must be one of: ${CODINGS.join(', ')}`)
    return s as Coding
  })
  if (out.length === 0) fail(path, 'needs at least one coding (or turn compression off with `compress: false`)')
  if (new Set(out).size !== out.length) fail(path, 'names a coding twice')
  return out
}
