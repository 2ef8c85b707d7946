/**
 * Checks a password against a stored Credential without blocking the event loop.
 *
 * `{SHA}` and `{SSHA}` are one SHA-1 each (about a microsecond): checked here, synchronously, with no
 * promise. bcrypt and apr1 (1000 MD5 rounds, ~1.5 ms in JS) run in ONE worker thread per process, one
 * job at a time, behind a bounded queue. Why this shape:
 * - One mechanism for both slow formats: apr1 is JS, so libuv's thread pool (where the bcrypt
 *   package's async compare runs) could not take it anyway, and that pool is shared with fs, dns and
 *   zlib, which password guessing must not starve.
 * - Concurrency 1: on a 2-core machine, a second hashing thread takes the core the event loop needs to
 *   keep proxying; with `workers: N`, N processes already give N hashing threads. A flood of attempts
 *   then queues (and, past the bound, gets 'busy', a 503) instead of slowing every other request.
 * - bcrypt: the native `bcrypt` package (6.0.0, prebuilt binaries in the npm tarball) over the pure-JS
 *   bcryptjs 3.0.3, measured on the 2-core dev machine, one synchronous hash, best of 5 alternated
 *   rounds (bench/micro/auth.ts): cost 5: native 1.65 ms, bcryptjs 2.33 ms; cost 10: native 51.7 ms,
 *   bcryptjs 71.1 ms. In the worker both keep the loop free; native gives ~1.4x the verifications
 *   per second for the same core. Its compare() is a strcmp (not constant-time), so the worker
 *   hashes with the stored setting and compares the digest itself with timingSafeEqual.
 *
 * The worker starts on the first slow verification, is unref()ed while idle (it never keeps the
 * process alive on its own), is started again on a verification at least RESTART_DELAY after it died
 * (meanwhile: 'busy'), and is ended by close().
 */
import { Worker } from 'node:worker_threads'
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Credential } from '../../config/htpasswd.js'
import type { Job } from './worker.js'

/** 'ok': the password is right. 'bad': it is not. 'busy': not checked (queue full, or the worker
 * failed): a fault of ours, not the client's, so the filter answers 503, never 401. */
export type VerifyResult = 'ok' | 'bad' | 'busy'

export interface VerifierOptions {
  /** Verifications waiting or running in the worker at most; one more gets 'busy'. Default 256. */
  readonly queue?: number
  /**
   * Hashing time queued in the worker at most, in µs by Credential.work (default 1 s): past it a
   * verification gets 'busy'. A count alone is no bound on the wait: 256 bcrypt checks of cost 10
   * are 13 s, long after the client gave up; of cost 5, half a second.
   */
  readonly budget?: number
  /** Told when the worker fails (e.g. the bcrypt binding does not load); for the event log. */
  readonly onFault?: (err: Error) => void
  /** The worker's module; the default is worker.js beside this file (specs give one that fails). */
  readonly worker?: URL
}

/** After a worker died, this long with 'busy' before starting another: a binding that cannot load
 * must not cost a thread start per request. */
const RESTART_DELAY = 1000

const WORKER = new URL('./worker.js', import.meta.url)

function sha1Equal(password: string, salt: Buffer, digest: Buffer): boolean {
  const h = createHash('sha1').update(password, 'utf8')
  if (salt.length > 0) h.update(salt)
  return timingSafeEqual(h.digest(), digest)
}

/** For an unknown user: whatever the decoy gave, the answer is no (unless it could not be checked). */
function refuse(r: VerifyResult): VerifyResult {
  return r === 'busy' ? 'busy' : 'bad'
}

/** Make one per process and share it across routes and reloads: it holds no config, only the worker. */
export class Verifier {
  readonly #limit: number
  readonly #budget: number
  /** Credential.work of the verifications in the worker now, in µs. */
  #queued: number
  readonly #work: Map<number, number>
  readonly #onFault: (err: Error) => void
  readonly #script: URL
  #worker: Worker | null
  /** performance.now() before which no new worker is started (after a crash). */
  #restartAt: number
  /** Resolvers of the jobs sent to the current worker, by job id. */
  readonly #pending: Map<number, (r: VerifyResult) => void>
  #nextId: number
  // Bound once here, so no closure is made per verification.
  readonly #onMessage: (m: [number, boolean]) => void

  constructor(opts: VerifierOptions = {}) {
    this.#limit = opts.queue ?? 256
    this.#budget = opts.budget ?? 1_000_000
    this.#queued = 0
    this.#work = new Map()
    this.#onFault = opts.onFault ?? (() => {})
    this.#script = opts.worker ?? WORKER
    this.#worker = null
    this.#restartAt = 0
    this.#pending = new Map()
    this.#nextId = 1
    this.#onMessage = (m) => this.#settle(m[0], m[1] ? 'ok' : 'bad')
  }

  /** Hashing time the queue takes at most, in µs (VerifierOptions.budget). */
  get budget(): number {
    return this.#budget
  }

  /** Verifications queued or running in the worker. */
  get pending(): number {
    return this.#pending.size
  }

  /**
   * Whether `password` matches `cred`. sha and ssha answer synchronously ('ok' or 'bad'); bcrypt and
   * apr1 answer with a Promise, or synchronously 'busy' when the queue is full. Never rejects.
   */
  verify(password: string, cred: Credential): VerifyResult | Promise<VerifyResult> {
    if (cred.format === 'sha' || cred.format === 'ssha') return sha1Equal(password, cred.salt, cred.digest) ? 'ok' : 'bad'
    return this.#offload(password, cred)
  }

  /**
   * For a user not in the file: does the work of verifying `password` against `decoy` (htpasswd.ts's
   * decoy(): the costliest credential of the file) and answers 'bad' (or 'busy' as verify would), so
   * an unknown user takes as long as a wrong password. No decoy (no users): 'bad' at once.
   */
  verifyUnknown(password: string, decoy: Credential | null): VerifyResult | Promise<VerifyResult> {
    if (decoy === null) return 'bad'
    const r = this.verify(password, decoy)
    return typeof r === 'string' ? refuse(r) : r.then(refuse)
  }

  /**
   * Ends the worker now; what was queued gets 'busy'. A later verify starts a new worker, so a
   * request still running on a retired config never hangs. Resolves when the thread has exited.
   */
  async close(): Promise<void> {
    const w = this.#worker
    if (w === null) return
    this.#worker = null
    this.#flush()
    await w.terminate()
  }

  #offload(password: string, cred: Credential): VerifyResult | Promise<VerifyResult> {
    if (this.#pending.size >= this.#limit) return 'busy'
    // One verification is always let in, however costly, or a cost over the budget would never pass.
    if (this.#pending.size > 0 && this.#queued + cred.work > this.#budget) return 'busy'
    if (this.#worker === null && performance.now() < this.#restartAt) return 'busy'
    const w = this.#worker ?? this.#start()
    const id = this.#nextId++
    if (this.#pending.size === 0) w.ref() // in flight: keep the process up until it answers
    const job: Job = { id, format: cred.format as Job['format'], password, setting: cred.setting, digest: cred.digest.toString('latin1') }
    w.postMessage(job)
    this.#queued += cred.work
    this.#work.set(id, cred.work)
    return new Promise((resolve) => { this.#pending.set(id, resolve) })
  }

  #start(): Worker {
    // No inherited node flags: one such as --input-type (of `node -e`) would stop the worker loading.
    const w = new Worker(this.#script, { execArgv: [] })
    w.unref()
    w.on('message', this.#onMessage)
    w.on('error', (err) => this.#onFault(err))
    w.on('exit', () => {
      // A crash (a terminate by close() has already moved on): answer its jobs, forget it, wait a bit.
      if (this.#worker !== w) return
      this.#worker = null
      this.#restartAt = performance.now() + RESTART_DELAY
      this.#flush()
    })
    this.#worker = w
    return w
  }

  #settle(id: number, r: VerifyResult): void {
    const resolve = this.#pending.get(id)
    if (resolve === undefined) return // a job of a worker that close() already answered
    this.#pending.delete(id)
    this.#queued -= this.#work.get(id) ?? 0
    this.#work.delete(id)
    if (this.#pending.size === 0) this.#worker?.unref()
    resolve(r)
  }

  #flush(): void {
    const all = [...this.#pending.values()]
    this.#pending.clear()
    this.#work.clear()
    this.#queued = 0
    for (const resolve of all) resolve('busy')
  }
}
