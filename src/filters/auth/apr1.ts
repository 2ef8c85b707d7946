/**
 * Apache's MD5 password hash, `$apr1$salt$digest` (htpasswd -m): Poul-Henning Kamp's MD5-crypt
 * (FreeBSD `$1$`) with the magic string "$apr1$" instead of "$1$", as apr_md5_encode in APR's
 * crypto/apr_md5.c computes it. 1000 MD5 rounds: about 1 to 2 ms in JS, so it runs in the verifier's
 * worker (verify.ts), never on the event loop.
 */
import { createHash } from 'node:crypto'

const MAGIC = Buffer.from('$apr1$', 'latin1')
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const ZERO = Buffer.alloc(1)

function md5(...parts: Uint8Array[]): Buffer {
  const h = createHash('md5')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** `n` characters of the crypt alphabet for the low bits of `v`, least significant first. */
function to64(v: number, n: number): string {
  let s = ''
  for (let i = 0; i < n; i++, v >>= 6) s += ITOA64[v & 0x3f]
  return s
}

/**
 * The 22-character digest part of `$apr1$<salt>$<digest>` for `password` (its bytes) and `salt` (the
 * salt as written, at most 8 characters, as apr_md5_encode reads it).
 */
export function apr1Digest(password: Uint8Array, salt: string): string {
  const s = Buffer.from(salt.slice(0, 8), 'latin1')
  const pw = password
  const alt = md5(pw, s, pw)
  const ctx = createHash('md5').update(pw).update(MAGIC).update(s)
  for (let left = pw.length; left > 0; left -= 16) ctx.update(alt.subarray(0, Math.min(left, 16)))
  // The original's quirk, kept for compatibility: a NUL byte for each set bit, the first password
  // byte for each clear one (the C code meant the first byte of the zeroed `final` buffer).
  const first = pw.subarray(0, 1)
  for (let i = pw.length; i > 0; i >>= 1) ctx.update((i & 1) !== 0 ? ZERO : first)
  let fin = ctx.digest()
  // The 1000 rounds that make it (mildly) slow.
  for (let i = 0; i < 1000; i++) {
    const h = createHash('md5')
    h.update((i & 1) !== 0 ? pw : fin)
    if (i % 3 !== 0) h.update(s)
    if (i % 7 !== 0) h.update(pw)
    h.update((i & 1) !== 0 ? fin : pw)
    fin = h.digest()
  }
  return to64((fin[0] << 16) | (fin[6] << 8) | fin[12], 4) +
    to64((fin[1] << 16) | (fin[7] << 8) | fin[13], 4) +
    to64((fin[2] << 16) | (fin[8] << 8) | fin[14], 4) +
    to64((fin[3] << 16) | (fin[9] << 8) | fin[15], 4) +
    to64((fin[4] << 16) | (fin[10] << 8) | fin[5], 4) +
    to64(fin[11], 2)
}
