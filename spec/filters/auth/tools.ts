/**
 * Spec support for auth: Apache's real `htpasswd` (Debian's apache2-utils), so the hashes under test
 * are the ones operators make, not ones we made ourselves.
 */
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import * as assert from 'uvu/assert'

/** Runs htpasswd; a missing tool fails the spec (never skips it) with how to get it. */
export function htpasswd(...args: string[]): string {
  try {
    return execFileSync('htpasswd', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      assert.unreachable('htpasswd is not installed: apt-get install apache2-utils (CI installs it in .ci/run)')
    }
    throw err
  }
}

/** The hash htpasswd makes for `password` with the format flags `flags` (e.g. ['-B', '-C', '4']). */
export function hashOf(flags: string[], password: string): string {
  const line = htpasswd('-nb', ...flags, 'u', password).trim()
  assert.ok(line.startsWith('u:'), line)
  return line.slice(2)
}

/** `{SSHA}` as OpenLDAP's slappasswd makes it: base64(sha1(password + salt) + salt). */
export function sshaOf(password: string, salt = randomBytes(8)): string {
  const d = createHash('sha1').update(password, 'utf8').update(salt).digest()
  return `{SSHA}${Buffer.concat([d, salt]).toString('base64')}`
}
