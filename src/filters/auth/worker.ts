/**
 * The verifier's worker thread (verify.ts starts it): hashes a password for bcrypt or apr1 and
 * compares in constant time. One job at a time: the thread's own message queue is the job queue.
 *
 * In: `{ id, format, password, setting, digest }` (a Job). Out: `[id, ok]`.
 */
import { parentPort } from 'node:worker_threads'
import { timingSafeEqual } from 'node:crypto'
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
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

/**
 * This thread alone at the lowest CPU priority (nice 19), so that when the machine is busy the event
 * loop, which serves every other request, always wins the CPU: hashing for a flood of guesses then
 * waits (and overflows the verifier's queue into 503s) instead of slowing the rest. Linux only, by
 * the thread's own id (/proc/thread-self; setpriority on a thread id is per thread); elsewhere the
 * thread keeps the process's priority.
 */
export function lowerPriority(): boolean {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (!Number.isInteger(tid) || tid <= 0) return false
    setPriority(tid, 19)
    return true
  } catch {
    return false
  }
}

if (parentPort !== null) lowerPriority()

parentPort?.on('message', (job: Job) => {
  let ok = false
  try {
    ok = check(job)
  } catch {
    ok = false // a setting the binding refuses: parseHash lets none through, but never die of one
  }
  parentPort!.postMessage([job.id, ok])
})
