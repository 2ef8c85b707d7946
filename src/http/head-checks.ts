/**
 * What strict llhttp still lets through, checked by the parser (llhttp.ts) on the complete head, its
 * bytes in `head.buf` and its fields found (Head.scan). Nothing of the message has been acted on yet,
 * so a failure here forwards nothing. Failures carry llhttp's name for the condition.
 */
import { Head, name } from './head.js'

const TRANSFER_ENCODING = name('transfer-encoding')
const HTTP_NAME = Buffer.from('HTTP/', 'latin1')

/** [llhttp code name, reason] when `h` must be refused, else null. */
export function headFault(h: Head, request: boolean): [string, string] | null {
  // RFC 9112 §2.3: HTTP/1.x only. llhttp also takes HTTP/2.0, and a request line with no version
  // (HTTP/0.9, which has no headers to carry Host or framing).
  if (h.major !== 1) return ['HPE_INVALID_VERSION', `HTTP/${h.major}.${h.minor} is not HTTP/1.x`]
  if (!request) {
    // RFC 9110 §15: codes run from 100; llhttp takes any three digits and would frame 0xx like 1xx.
    return h.status >= 100 ? null : ['HPE_INVALID_STATUS', `status ${h.status} is out of range`]
  }
  const b = h.buf
  const s0 = h.spans[0]
  const s1 = h.spans[1]
  let v = s1
  while (b[v] === 0x20) v++
  // RFC 9112 §2.3: HTTP-name is "HTTP", case-sensitive; llhttp also takes RTSP/ and ICE/.
  for (let i = 0; i < 5; i++) if (b[v + i] !== HTTP_NAME[i]) return ['HPE_INVALID_CONSTANT', 'protocol is not HTTP']
  // RFC 9112 §3.2: no request-target form has a fragment. A '#' would let the path we route on differ
  // from the one the peer serves (compare HAProxy, CVE-2023-45539).
  for (let i = s0; i < s1; i++) if (b[i] === 0x23) return ['HPE_INVALID_URL', 'fragment in request target']
  if (h.transferEncoding >= 0) {
    // RFC 9112 §6.3 rule 4: in a request, chunked must be the final coding, else 400. llhttp takes an
    // empty Transfer-Encoding as no body at all, while the peer may not.
    const t = h.tokens(TRANSFER_ENCODING)
    if (t.length === 0 || t[t.length - 1] !== 'chunked') return ['HPE_INVALID_TRANSFER_ENCODING', 'chunked is not the final transfer coding']
  }
  return null
}
