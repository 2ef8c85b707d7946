/**
 * The checks a request head passes before anything of it is forwarded, each with the RFC section
 * behind it: what llhttp enforces in strict mode, what head-checks.ts adds, and what
 * proxy/request-head.ts checks to route. Data for the trace (src/trace/): read only for a traced
 * request, so the checks themselves carry nothing of it.
 */
import { Code, ProxyError } from '../errors.js'

export interface Check { readonly name: string; readonly rfc: string }

export const CHECKS = {
  method: { name: 'method is a token', rfc: 'RFC 9110 §9.1' },
  target: { name: 'request target length within max_target (414)', rfc: 'RFC 9112 §3' },
  version: { name: 'HTTP/1.x version', rfc: 'RFC 9112 §2.3' },
  lines: { name: 'every line ends in CRLF: no bare LF or CR, no obs-fold', rfc: 'RFC 9112 §2.2, §5.2' },
  fields: { name: 'field names are tokens, no whitespace before the colon, no control characters', rfc: 'RFC 9112 §5.1, RFC 9110 §5.5' },
  size: { name: 'head size within max_head (431)', rfc: 'RFC 6585 §5' },
  framing: { name: 'one framing: no Content-Length with Transfer-Encoding, one valid length, chunked last', rfc: 'RFC 9112 §6.3' },
  chunks: { name: 'chunk sizes and chunk line ends are valid', rfc: 'RFC 9112 §7.1' },
  fragment: { name: 'no fragment in the target', rfc: 'RFC 9112 §3.2' },
  host: { name: 'exactly one Host on HTTP/1.1', rfc: 'RFC 9112 §3.2' },
  hostValue: { name: 'Host is uri-host [":" port]', rfc: 'RFC 9112 §3.2, RFC 3986 §3.2.2' },
  te10: { name: 'no Transfer-Encoding in HTTP/1.0', rfc: 'RFC 9112 §6.1' },
  form: { name: 'target in origin-form, absolute-form or asterisk-form (OPTIONS)', rfc: 'RFC 9112 §3.2' },
  path: { name: 'one reading of the path: dot-segments resolved, none hidden', rfc: 'RFC 3986 §5.2.4' },
  connect: { name: 'CONNECT is not served by a reverse proxy (501)', rfc: 'RFC 9110 §9.3.6' },
  timeout: { name: 'head complete within timeouts.header (408)', rfc: 'RFC 9110 §15.5.9' },
} as const satisfies Record<string, Check>

/** The checks every request head that reached an exchange has passed, in the order they run. */
export const PASSED: readonly Check[] = [CHECKS.method, CHECKS.target, CHECKS.version, CHECKS.lines, CHECKS.fields,
  CHECKS.size, CHECKS.framing, CHECKS.fragment, CHECKS.host, CHECKS.hostValue, CHECKS.te10, CHECKS.form, CHECKS.path]

/** llhttp's error names (and those head-checks.ts gives) to the check that failed. */
const BY_LLHTTP: Record<string, Check> = {
  HPE_INVALID_METHOD: CHECKS.method,
  HPE_INVALID_VERSION: CHECKS.version,
  HPE_INVALID_CONSTANT: CHECKS.version,
  HPE_INVALID_URL: CHECKS.form,
  HPE_CR_EXPECTED: CHECKS.lines,
  HPE_LF_EXPECTED: CHECKS.lines,
  HPE_INVALID_HEADER_TOKEN: CHECKS.fields,
  HPE_INVALID_CONTENT_LENGTH: CHECKS.framing,
  HPE_UNEXPECTED_CONTENT_LENGTH: CHECKS.framing,
  HPE_INVALID_TRANSFER_ENCODING: CHECKS.framing,
  HPE_INVALID_CHUNK_SIZE: CHECKS.chunks,
  HPE_STRICT: CHECKS.chunks,
  HPE_INVALID_EOF_STATE: CHECKS.framing,
}

/** request-head.ts's reasons (ProxyError messages) to their check, first match wins. */
const BY_REASON: [RegExp, Check][] = [
  [/Host field/, CHECKS.host],
  [/HTTP\/1\.0 request/, CHECKS.te10],
  [/invalid Host/, CHECKS.hostValue],
  [/dot-segment|two slashes/, CHECKS.path],
  [/target|authority/, CHECKS.form],
]

/** The check a fault on the client's side failed, or null (a fault that is no check: an abort). */
export function checkOf(err: ProxyError): Check | null {
  switch (err.code) {
    case Code.TARGET_TOO_LONG: return CHECKS.target
    case Code.HEAD_TOO_LARGE: return CHECKS.size
    case Code.NOT_IMPLEMENTED: return CHECKS.connect
    case Code.HEADER_TIMEOUT: return CHECKS.timeout
    case Code.PARSE: {
      const name = /^(HPE_[A-Z_]+)/.exec(err.message)?.[1] ?? ''
      if (err.message.includes('fragment')) return CHECKS.fragment
      return BY_LLHTTP[name] ?? { name: name === '' ? 'llhttp' : name, rfc: 'RFC 9112 §2.2' }
    }
    case Code.BAD_REQUEST:
      for (const [re, c] of BY_REASON) if (re.test(err.message)) return c
      return { name: 'request head', rfc: 'RFC 9112 §3' }
    default: return null
  }
}
