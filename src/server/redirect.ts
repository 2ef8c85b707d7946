/**
 * `redirect_https` on a plain listener: every request is answered 308 Permanent Redirect to the same
 * host and path over https (RFC 9110 §15.4.9: unlike 301, the method and body are kept on the retry).
 */
import type { Head } from '../http/head.js'
import { methodName } from '../http/llhttp.js'
import { HEAD } from '../http/methods.js'
import type { RequestInfo } from '../proxy/request-head.js'
import { reply } from '../proxy/reply.js'

export interface LocalAnswer {
  readonly status: number
  readonly bytes: Buffer
  readonly method: string
  readonly target: string
  readonly cause: string
}

/** The 308 for a request (its Host and path already checked by `inspect`); 400 if it has no Host. */
export function redirectHttps(info: RequestInfo, port: number, h: Head): LocalAnswer {
  const method = methodName(h.method)
  const target = info.path
  // An HTTP/1.0 request may lack Host: there is no name to send it to.
  if (info.host === '') return { status: 400, bytes: reply(400, true, h.method === HEAD), method, target, cause: 'PE' }
  const location = `https://${info.host}${port === 443 ? '' : `:${port}`}${info.path}`
  return { status: 308, bytes: reply(308, true, h.method === HEAD, `Location: ${location}\r\n`), method, target, cause: '--' }
}
