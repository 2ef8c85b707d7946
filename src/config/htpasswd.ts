/**
 * The stored side of Basic authentication: an htpasswd file (`user:hash` per line, as Apache's
 * htpasswd writes it) read into a map of parsed credentials. Read at config load and on every reload,
 * so a bad file refuses the config with the file, the line and the reason, and the running users stay.
 *
 * Accepted hashes (Apache's "password formats" page): bcrypt (`$2y$`, htpasswd -B; `$2a$` and `$2b$`
 * from other tools), Apache MD5 (`$apr1$`, htpasswd -m), `{SHA}` (htpasswd -s) and `{SSHA}` (salted
 * SHA-1, OpenLDAP and nginx). Everything else is refused with what it is and what to use instead.
 */
import { readFileSync } from 'node:fs'
import { ConfigError, fail } from './validate.js'

export type Format = 'bcrypt' | 'apr1' | 'sha' | 'ssha'

/** One user's stored hash, parsed once so a verification only hashes and compares. */
export class Credential {
  constructor(
    readonly format: Format,
    /** The hash as written in the file: part of the cache key (cache.ts), so a changed hash misses. */
    readonly hash: string,
    /** bcrypt: the setting `$2b$NN$` + 22 salt characters (minor normalized, see parseHash); apr1: the salt; else "". */
    readonly setting: string,
    /** What the password must hash to. bcrypt: the 31 digest characters, apr1: the 22; sha, ssha: the SHA-1 digest. */
    readonly digest: Buffer,
    /** ssha: the salt hashed after the password; else empty. */
    readonly salt: Buffer,
    /** Microseconds one verification takes, roughly (bench/micro/auth.ts): only the order matters, for decoy(). */
    readonly work: number,
  ) {}
}

const USE = 'use htpasswd -B (bcrypt)'
const EMPTY = Buffer.alloc(0)
const BCRYPT = /^\$2([abxy]?)\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/
const APR1 = /^\$apr1\$([./0-9A-Za-z]{1,8})\$([./0-9A-Za-z]{22})$/
const DES = /^[./0-9A-Za-z]{13}$/

/** Strict base64 (RFC 4648 §4), or null: only the canonical encoding of some bytes passes. */
function base64(s: string): Buffer | null {
  const b = Buffer.from(s, 'base64')
  return b.length > 0 && b.toString('base64') === s ? b : null
}

function bcrypt(hash: string, path: string): Credential {
  const m = BCRYPT.exec(hash)
  if (m === null) fail(path, `bcrypt hash is malformed (expected $2y$, two digits of cost, $, then 53 characters of ./A-Za-z0-9); ${USE}`)
  if (m[1] === 'x') fail(path, `bcrypt $2x$ (crypt_blowfish's mode that reproduces its old 8-bit bug) is not accepted; ${USE}`)
  if (m[1] === '') fail(path, `bcrypt $2$ (the first, pre-1999 revision) is not accepted; ${USE}`)
  const cost = Number(m[2])
  // Each cost step doubles the work: 12 is ~0.2 s of one core per check here (bench/micro/auth.ts), and
  // every check of a password not cached yet waits behind the ones queued before it, in a queue of 1 s
  // of work. Past that, a few guesses hold the verifier for everybody (cost 31: a day for one).
  if (cost < 4 || cost > 12) fail(path, `bcrypt cost ${m[2]} is out of range (4 to 12: each step doubles the time of a check; htpasswd -B -C 10 is ~50 ms)`)
  // $2a$, $2b$ and $2y$ are one algorithm for any password we hash: $2y$ is crypt_blowfish's name for
  // the correct one, $2b$ OpenBSD's, and $2a$ differs only for passwords of 255+ bytes, which the
  // verifier never hands over (it cuts at 72 bytes, all bcrypt reads). The native binding knows only
  // $2a$ and $2b$, so every setting is given as $2b$ and only the 31 digest characters are compared.
  return new Credential('bcrypt', hash, `$2b$${m[2]}$${m[3]}`, Buffer.from(m[4], 'latin1'), EMPTY, 50 * 2 ** cost)
}

/**
 * Parses one stored hash, or refuses it via `fail(path, reason)`. The reason names the format found
 * and never quotes the hash (it may be a plain-text password).
 */
export function parseHash(hash: string, path: string): Credential {
  if (hash === '') fail(path, `an empty hash (a user without a password) is not accepted; ${USE}`)
  if (hash.startsWith('$2')) return bcrypt(hash, path)
  if (hash.startsWith('$apr1$')) {
    const m = APR1.exec(hash)
    if (m === null) fail(path, `Apache MD5 ($apr1$) hash is malformed (expected $apr1$, a salt of 1 to 8 characters, $, then 22 characters of ./0-9A-Za-z)`)
    return new Credential('apr1', hash, m[1], Buffer.from(m[2], 'latin1'), EMPTY, 1500)
  }
  if (hash.startsWith('{SHA}')) {
    const d = base64(hash.slice(5))
    if (d === null || d.length !== 20) fail(path, '{SHA} hash is malformed (expected the base64 of a 20-byte SHA-1 digest)')
    return new Credential('sha', hash, '', d, EMPTY, 1)
  }
  if (hash.startsWith('{SSHA}')) {
    const d = base64(hash.slice(6))
    if (d === null || d.length < 21 || d.length > 84) fail(path, '{SSHA} hash is malformed (expected the base64 of a 20-byte SHA-1 digest and a salt of 1 to 64 bytes)')
    return new Credential('ssha', hash, '', d.subarray(0, 20), d.subarray(20), 1)
  }
  if (hash.startsWith('$1$')) fail(path, `MD5-crypt ($1$) is not accepted (only Apache's $apr1$ variant is); ${USE}`)
  if (hash.startsWith('$5$')) fail(path, `SHA-256-crypt ($5$, htpasswd -2) is not accepted; ${USE}`)
  if (hash.startsWith('$6$')) fail(path, `SHA-512-crypt ($6$, htpasswd -5) is not accepted; ${USE}`)
  if (hash.startsWith('$argon2')) fail(path, `Argon2 is not accepted; ${USE}`)
  if (hash.startsWith('$y$') || hash.startsWith('$7$')) fail(path, `yescrypt and scrypt crypt hashes are not accepted; ${USE}`)
  const scheme = /^(\$[0-9a-z-]{1,16}\$|\{[A-Z0-9-]{1,16}\})/.exec(hash)
  if (scheme !== null) fail(path, `unknown hash format ${scheme[1]}; ${USE}`)
  if (DES.test(hash)) fail(path, `DES crypt is not accepted (8-character passwords, broken); ${USE}`)
  fail(path, `plain text (htpasswd -p) is not accepted; ${USE}`)
}

/** `s` as it may be quoted in an error: JSON string syntax, so a control character shows as an escape. */
function quote(s: string): string {
  return JSON.stringify(s)
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })
const BOM = Buffer.from([0xef, 0xbb, 0xbf])
// ASCII white space only (C's isspace), as ap_cfg_getline trims: String.trim would also eat U+FEFF, U+00A0...
const TRIM = /^[ \t\r\f\v]+|[ \t\r\f\v]+$/g

/**
 * The users of the htpasswd file `file`, each hash through parseHash. Errors go through
 * `fail(path, ...)` and name the file and line: `auth.htpasswd: /etc/rawproxy/users line 3: DES crypt
 * is not accepted ...`. Blank lines and lines starting with `#` are skipped; CRLF and the spaces
 * around a line are tolerated (Apache reads the file with ap_cfg_getline, which trims them); a line
 * with no colon, an empty user or a user listed twice is an error. Re-reads the file at each call.
 */
export function readHtpasswd(file: string, path: string): Map<string, Credential> {
  let bytes: Buffer
  try {
    bytes = readFileSync(file)
  } catch (err) {
    fail(path, `cannot read file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  if (bytes.subarray(0, 3).equals(BOM)) bytes = bytes.subarray(3) // as saved by some Windows editors
  const users = new Map<string, Credential>()
  const lineOf = new Map<string, number>()
  let n = 0
  for (let start = 0; start < bytes.length; n++) {
    let end = bytes.indexOf(0x0a, start)
    if (end < 0) end = bytes.length
    const raw = bytes.subarray(start, end)
    start = end + 1
    const at = `${file} line ${n + 1}`
    let line: string
    try {
      line = UTF8.decode(raw).replace(TRIM, '')
    } catch {
      fail(path, `${at}: not UTF-8 text (RFC 7617 §2.1: user names are compared as UTF-8)`)
    }
    if (line === '' || line.startsWith('#')) continue
    const colon = line.indexOf(':')
    if (colon < 0) fail(path, `${at}: no colon (expected user:hash)`)
    if (colon === 0) fail(path, `${at}: empty user name`)
    const user = line.slice(0, colon)
    // RFC 7617 §2: a user-id with a control character can never be sent, so the line is a mistake.
    if (/[\x00-\x1f\x7f]/.test(user)) fail(path, `${at}: user ${quote(user)} has a control character (RFC 7617 §2)`)
    const first = lineOf.get(user)
    if (first !== undefined) fail(path, `${at}: user ${quote(user)} is listed twice (first on line ${first})`)
    try {
      users.set(user, parseHash(line.slice(colon + 1), path))
    } catch (err) {
      if (err instanceof ConfigError) fail(path, `${at}: ${err.reason}`)
      throw err
    }
    lineOf.set(user, n + 1)
  }
  return users
}

/**
 * The credential to verify against when the user is unknown, so that an unknown user costs what a
 * wrong password costs and response times do not tell which users exist: the costliest of the file
 * (with one format and cost in the file, the usual case, every user looks alike). null for no users.
 */
export function decoy(users: ReadonlyMap<string, Credential>): Credential | null {
  let best: Credential | null = null
  for (const c of users.values()) if (best === null || c.work > best.work) best = c
  return best
}
