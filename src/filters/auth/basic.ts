/**
 * The credentials of the "Basic" scheme (RFC 7617) out of an Authorization field value. Strict on
 * purpose: whatever this accepts is what gets hashed, so two spellings of one credential (lenient
 * base64, a stray byte Node's decoder skips) must not both pass.
 */

/** Longer values are refused unread: a user-id and password pair has no business being larger. */
export const MAX_VALUE = 4096

export interface BasicCredentials {
  readonly user: string
  readonly password: string
}

// RFC 7617 §2.1: with charset="UTF-8" (the only charset the filter announces) the user-pass is UTF-8.
// fatal: invalid UTF-8 is refused, not turned into U+FFFD (two byte strings would then verify as one);
// ignoreBOM: a leading U+FEFF is part of the user-id, not something to drop silently.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

const COLON = 0x3a

/**
 * The user-id and password of a Basic Authorization field value (`value` is the field's bytes as
 * latin1 text, trailing whitespace already cut, RFC 9110 §5.5), or null when the value is not Basic
 * credentials or not valid ones. Never throws.
 */
export function decodeBasic(value: string): BasicCredentials | null {
  if (value.length > MAX_VALUE || value.length < 7) return null
  // RFC 9110 §11.1: the scheme name is case-insensitive.
  if ((value.charCodeAt(0) | 0x20) !== 0x62 || (value.charCodeAt(1) | 0x20) !== 0x61 || (value.charCodeAt(2) | 0x20) !== 0x73 ||
    (value.charCodeAt(3) | 0x20) !== 0x69 || (value.charCodeAt(4) | 0x20) !== 0x63 || value.charCodeAt(5) !== 0x20) return null
  // RFC 9110 §11.4: credentials = auth-scheme [ 1*SP ( token68 / #auth-param ) ]: spaces only, no tab.
  let i = 6
  while (i < value.length && value.charCodeAt(i) === 0x20) i++
  const token = value.slice(i)
  if (token.length === 0) return null
  // RFC 7617 §2: the token68 is Base64 (RFC 4648 §4). Node's decoder skips what it does not know
  // (spaces, "-" and "_" of the URL alphabet, missing or extra "=", non-zero pad bits), so the value
  // is accepted only when it is exactly what encoding the decoded bytes gives back: one canonical form.
  const bytes = Buffer.from(token, 'base64')
  if (bytes.toString('base64') !== token) return null
  // One pass over the bytes: CTLs are refused (RFC 7617 §2: "MUST NOT contain any control characters",
  // CTL of RFC 5234 B.1: %x00-1F and %x7F) and the first colon splits (§2: the user-id cannot contain
  // one, the password can). In UTF-8 these bytes only ever stand for themselves, so a byte test is exact.
  let colon = -1
  for (let k = 0; k < bytes.length; k++) {
    const b = bytes[k]
    if (b < 0x20 || b === 0x7f) return null
    if (b === COLON && colon < 0) colon = k
  }
  // No colon: not a user-pass. An empty user-id is valid grammar but never a user of ours.
  if (colon <= 0) return null
  try {
    // RFC 7617 §2.1 with RFC 8265 §3.3: a user-id is compared in Unicode Normalization Form C ("zoë"
    // typed with a combining diaeresis is the same user); the password stays the bytes it was hashed from.
    return { user: UTF8.decode(bytes.subarray(0, colon)).normalize('NFC'), password: UTF8.decode(bytes.subarray(colon + 1)) }
  } catch {
    return null // invalid UTF-8 (TypeError from the fatal decoder)
  }
}
