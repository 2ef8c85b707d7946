/** Reason phrases for the statuses rawproxy itself sends (RFC 9110 §15, RFC 6585). */
const TEXT: Record<number, string> = {
  100: 'Continue',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  404: 'Not Found',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
}

export function statusText(status: number): string {
  return TEXT[status] ?? 'Unknown'
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
