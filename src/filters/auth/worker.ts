/**
 * The verifier's worker thread (verify.ts starts it): hashes a password for bcrypt or apr1 and
 * compares in constant time. One job at a time: the thread's own message queue is the job queue.
 *
 * In: `{ id, format, password, setting, digest }` (a Job). Out: `[id, ok]`.
 */
import { parentPort } from 'node:worker_threads'
import { timingSafeEqual } from 'node:crypto'
import { hashSync } from 'bcrypt'
import { apr1Digest } from './apr1.js'

export interface Job {
  readonly id: number
  readonly format: 'bcrypt' | 'apr1'
  readonly password: string
  /** Credential.setting: the `$2b$NN$salt` of bcrypt, the salt of apr1. */
  readonly setting: string
  /** Credential.digest as latin1 text: the encoded digest the password must give. A string, since a
   * cloned Buffer brings its whole ArrayBuffer along (8 KiB of Node's pool for a 31-byte digest). */
  readonly digest: string
}

/** True when `job.password` hashes to `job.digest`. */
export function check(job: Job): boolean {
  const pw = Buffer.from(job.password, 'utf8')
  let got: string
  if (job.format === 'bcrypt') {
    // bcrypt reads 72 bytes at most; cutting here also keeps $2a$ clear of its 255-byte length
    // wrap-around. The binding's own compare() uses strcmp, not a constant-time compare: we hash
    // with the stored setting and compare the digest ourselves.
    got = hashSync(pw.length > 72 ? pw.subarray(0, 72) : pw, job.setting).slice(29)
  } else {
    got = apr1Digest(pw, job.setting)
  }
  const g = Buffer.from(got, 'latin1')
  const want = Buffer.from(job.digest, 'latin1')
  // Lengths are public (fixed by the format); the bytes are compared in constant time.
  return g.length === want.length && timingSafeEqual(g, want)
}

parentPort?.on('message', (job: Job) => {
  let ok = false
  try {
    ok = check(job)
  } catch {
    ok = false // a setting the binding refuses: parseHash lets none through, but never die of one
  }
  parentPort!.postMessage([job.id, ok])
})
