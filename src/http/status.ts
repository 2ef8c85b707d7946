/**
 * Reason phrases of the registered statuses (RFC 9110 §15, RFC 6585, RFC 7725 for 451): rawproxy
 * writes its own answers with them, and a rule may answer any status. The phrase is only text for
 * people (RFC 9112 §4: clients ignore it); an unregistered status gets none.
 */
const TEXT: Record<number, string> = {
  100: 'Continue', 101: 'Switching Protocols',
  200: 'OK', 201: 'Created', 202: 'Accepted', 203: 'Non-Authoritative Information', 204: 'No Content',
  205: 'Reset Content', 206: 'Partial Content',
  300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Found', 303: 'See Other', 304: 'Not Modified',
  307: 'Temporary Redirect', 308: 'Permanent Redirect',
  400: 'Bad Request', 401: 'Unauthorized', 402: 'Payment Required', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 406: 'Not Acceptable', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  409: 'Conflict', 410: 'Gone', 411: 'Length Required', 412: 'Precondition Failed', 413: 'Content Too Large',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 416: 'Range Not Satisfiable', 417: 'Expectation Failed',
  421: 'Misdirected Request', 422: 'Unprocessable Content', 426: 'Upgrade Required', 428: 'Precondition Required',
  429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable',
  504: 'Gateway Timeout', 505: 'HTTP Version Not Supported', 511: 'Network Authentication Required',
}

export function statusText(status: number): string {
  return TEXT[status] ?? ''
}

let dateSecond = 0
let dateValue = ''

/** The Date field value (RFC 9110 §6.6.1), recomputed at most once a second. */
export function httpDate(): string {
  const now = Date.now()
  const sec = Math.floor(now / 1000)
  if (sec !== dateSecond) {
    dateSecond = sec
    dateValue = new Date(sec * 1000).toUTCString()
  }
  return dateValue
}
