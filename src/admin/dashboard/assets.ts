/**
 * The dashboard's files, served by the admin listener from the package (dist/web/dashboard, copied
 * there at build by scripts/build-web.mjs with uPlot's dist files): nothing from a CDN, it works
 * offline. Each file is read once, with a strong ETag; browsers keep it and revalidate (no-cache →
 * 304). The files are code, not data, so they need no credentials (the data does: the page sends
 * the token with every call it makes); every page is refused in a frame and runs only its own
 * scripts (Content-Security-Policy).
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { extname } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AdminAnswer, AdminRequest } from '../http.js'

const DIR = fileURLToPath(new URL('../../../web/dashboard/', import.meta.url))

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml',
}

/** Only this origin's scripts, styles and connections; no frames (clickjacking of the buttons), no forms, no referrer. */
const PAGE_FIELDS = "Content-Security-Policy: default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'\r\n" +
  'X-Frame-Options: DENY\r\nReferrer-Policy: no-referrer\r\n'

interface Asset { readonly body: Buffer; readonly type: string; readonly etag: string }

let files: Map<string, Asset> | null = null

function load(): Map<string, Asset> {
  if (files !== null) return files
  files = new Map()
  let names: string[] = []
  try { names = readdirSync(DIR) } catch { /* not built: every file is 404 */ }
  for (const n of names) {
    const type = TYPES[extname(n)]
    if (type === undefined) continue
    const body = readFileSync(DIR + n)
    files.set(n, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` })
  }
  return files
}

/** The answer for one file of the dashboard (`index.html`, `app.js`...), 304 when the browser has it. */
export function asset(r: AdminRequest, name: string): AdminAnswer {
  const a = load().get(name)
  if (a === undefined) return { status: 404, body: `no dashboard file ${name} (built? npm run build copies them into dist/web)\n` }
  const fields = `ETag: ${a.etag}\r\n${PAGE_FIELDS}`
  // RFC 9110 §13.1.2: If-None-Match lists entity tags (weak comparison; "*" matches any).
  const held = r.ifNoneMatch?.split(',').map((t) => t.trim().replace(/^W\//, ''))
  if (held !== undefined && (held.includes(a.etag) || held.includes('*'))) return { status: 304, body: '', fields, cache: 'no-cache' }
  return { status: 200, type: a.type, body: a.body, fields, cache: 'no-cache' }
}
