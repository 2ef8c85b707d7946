/**
 * The micro benchmarks' input: ten pipelined GETs as a desktop browser sends them for one page and
 * its assets (about 500 bytes each: cookies, client hints, fetch metadata). Every parser under test
 * gets the SAME buffer.
 */
const PATHS = [
  '/', '/static/css/main.8c1e2f.css', '/static/js/vendor.3d9a41.js', '/static/js/app.77be02.js',
  '/api/v1/session?fresh=1', '/img/logo.svg', '/img/hero@2x.webp', '/fonts/inter-var.woff2',
  '/api/v1/feed?page=1&limit=20', '/favicon.ico',
]

// Navigation (the first) and subresource requests differ in Accept and Sec-Fetch-*, as in a browser.
function request(path: string, i: number): string {
  const nav = i === 0
  return `GET ${path} HTTP/1.1\r\n` +
    'Host: www.example.com\r\n' +
    'Connection: keep-alive\r\n' +
    'sec-ch-ua: "Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"\r\n' +
    'sec-ch-ua-mobile: ?0\r\n' +
    'sec-ch-ua-platform: "Linux"\r\n' +
    (nav ? 'Upgrade-Insecure-Requests: 1\r\n' : '') +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n' +
    (nav
      ? 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n'
      : 'Accept: */*\r\n') +
    `Sec-Fetch-Site: ${nav ? 'none' : 'same-origin'}\r\n` +
    `Sec-Fetch-Mode: ${nav ? 'navigate' : 'no-cors'}\r\n` +
    `Sec-Fetch-Dest: ${nav ? 'document' : 'empty'}\r\n` +
    (nav ? '' : 'Referer: https://www.example.com/\r\n') +
    'Accept-Encoding: gzip, deflate, br, zstd\r\n' +
    'Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n' +
    'Cookie: session=3b1f0c9e7a2d4e6f8a0b1c2d3e4f5a6b; theme=dark; _ga=GA1.1.123456789.1700000000\r\n' +
    '\r\n'
}

/** The ten requests, one Buffer each. */
export const REQUESTS: readonly Buffer[] = PATHS.map((p, i) => Buffer.from(request(p, i), 'latin1'))

/** The ten requests back to back: one read of a pipelining client. */
export const PIPELINED: Buffer = Buffer.concat(REQUESTS)

export const COUNT = REQUESTS.length
