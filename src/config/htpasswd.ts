// PLACEHOLDER: replaced by the auth branch's htpasswd.ts on merge.
import { readFileSync } from 'node:fs'
import { fail } from './validate.js'
export interface Credential { readonly format: string; readonly hash: string }
export function parseHash(hash: string, path: string): Credential {
  if (/^\$2[aby]\$\d\d\$/.test(hash)) return { format: 'bcrypt', hash }
  if (hash.startsWith('$apr1$')) return { format: 'apr1', hash }
  if (hash.startsWith('{SHA}')) return { format: 'sha', hash }
  if (hash.startsWith('{SSHA}')) return { format: 'ssha', hash }
  fail(path, 'unsupported hash')
}
export function readHtpasswd(file: string, path: string): Map<string, Credential> {
  const m = new Map<string, Credential>()
  for (const l of readFileSync(file, 'utf8').split('\n')) { const i = l.indexOf(':'); if (i > 0) m.set(l.slice(0, i), parseHash(l.slice(i + 1).trim(), path)) }
  return m
}
