/**
 * Request collapsing: while one request for a key is on its way to the peer (the leader), others for
 * the same key wait for its response head rather than going too, then look again (they find the entry
 * it is filling, and read it as it arrives). A waiter gives up after the lock timeout and goes to the
 * peer itself (nginx's proxy_cache_lock_timeout).
 */
export class Lock {
  readonly #waiters: (() => void)[] = []

  /** Calls `go` when the leader's head is in (or it failed), or after `timeout` ms, whichever first. */
  wait(go: (timedOut: boolean) => void, timeout: number): void {
    let called = false
    const t = setTimeout(() => { if (!called) { called = true; go(true) } }, timeout)
    this.#waiters.push(() => { if (!called) { called = true; clearTimeout(t); go(false) } })
  }

  release(): void {
    for (const w of this.#waiters.splice(0)) w()
  }
}

/** The locks of one store, by key. */
export class Locks {
  readonly #held = new Map<string, Lock>()

  /** The lock held on `key`, or null (then the caller may take it with `take`). */
  get(key: string): Lock | null {
    return this.#held.get(key) ?? null
  }

  take(key: string): Lock {
    const l = new Lock()
    this.#held.set(key, l)
    return l
  }

  release(key: string, l: Lock): void {
    if (this.#held.get(key) === l) this.#held.delete(key)
    l.release()
  }
}
