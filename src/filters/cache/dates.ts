/**
 * HTTP-date (RFC 9110 §5.6.7), strictly (names without regard to case, as recipients tolerate): IMF-fixdate, and the obsolete RFC 850 and asctime forms that
 * a recipient must still accept. Date.parse is not used: it takes "0" or "2024" as a date, and an
 * asctime date as local time. Anything else is invalid (-1): an invalid Expires means already
 * expired (RFC 9111 §5.3).
 */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const DAYS = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)'
const LONG_DAYS = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)'
const MONTH = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)'
const TIME = '(\\d\\d):(\\d\\d):(\\d\\d)'
// Sun, 06 Nov 1994 08:49:37 GMT
const IMF = new RegExp(`^${DAYS}, (\\d\\d) ${MONTH} (\\d{4}) ${TIME} GMT$`, 'i')
// Sunday, 06-Nov-94 08:49:37 GMT
const RFC850 = new RegExp(`^${LONG_DAYS}, (\\d\\d)-${MONTH}-(\\d\\d) ${TIME} GMT$`, 'i')
// Sun Nov  6 08:49:37 1994
const ASCTIME = new RegExp(`^${DAYS} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`, 'i')

/** Milliseconds since the epoch, or -1 when `v` is not an HTTP-date. */
export function parseDate(v: string | undefined): number {
  if (v === undefined) return -1
  v = v.trim()
  let m = IMF.exec(v)
  if (m !== null) return utc(+m[3], m[2], +m[1], +m[4], +m[5], +m[6])
  m = RFC850.exec(v)
  if (m !== null) {
    // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past century.
    const now = new Date().getUTCFullYear()
    let year = 1900 + +m[3]
    while (year < now - 50) year += 100
    return utc(year, m[2], +m[1], +m[4], +m[5], +m[6])
  }
  m = ASCTIME.exec(v)
  if (m !== null) return utc(+m[6], m[1], +m[2].trim(), +m[3], +m[4], +m[5])
  return -1
}

function utc(year: number, month: string, day: number, h: number, min: number, s: number): number {
  const mon = MONTHS.indexOf(month.toLowerCase())
  if (day < 1 || day > 31 || h > 23 || min > 59 || s > 60) return -1
  const t = Date.UTC(year, mon, day, h, min, s)
  // 31 Feb and the like roll over in Date.UTC: not a date.
  return new Date(t).getUTCDate() === day ? t : -1
}
