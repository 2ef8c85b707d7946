// PLACEHOLDER: replaced by the cidr-pp branch on merge.
import { readFileSync } from 'node:fs'
import { fail } from './validate.js'
import { parseCidr } from './cidr.js'
export function readCidrFile(file: string, path: string): string[] {
  let text: string
  try { text = readFileSync(file, 'latin1') } catch (err) { fail(path, `cannot read ${file}: ${(err as Error).message}`) }
  const out: string[] = []
  text.split('\n').forEach((l, i) => {
    const s = l.replace(/#.*/, '').trim()
    if (s === '') return
    if (parseCidr(s) === null) fail(path, `${file} line ${i + 1}: "${s}" is not an IP address or CIDR`)
    out.push(s)
  })
  return out
}
