/**
 * A buffered line writer: lines collect in memory and go out in one write every 100 ms or at 64 KiB,
 * so logging costs no syscall per request. `flushSync` runs at exit.
 */
import { openSync, writeSync, write, closeSync } from 'node:fs'

export class Sink {
  readonly #fd: number
  readonly #own: boolean
  #buf = ''
  #timer: NodeJS.Timeout | null = null
  #writing = false
  #closing = false
  #closed = false

  /** `path`: "stdout", "stderr" or a file appended to. */
  constructor(path: string) {
    this.#own = path !== 'stdout' && path !== 'stderr'
    this.#fd = path === 'stdout' ? 1 : path === 'stderr' ? 2 : openSync(path, 'a')
  }

  line(s: string): void {
    if (this.#closed) return
    this.#buf += s + '\n'
    if (this.#buf.length >= 65536) this.flush()
    else if (this.#timer === null) {
      this.#timer = setTimeout(() => this.flush(), 100)
      this.#timer.unref()
    }
  }

  flush(): void {
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null }
    if (this.#buf === '' || this.#writing) return
    const data = this.#buf
    this.#buf = ''
    this.#writing = true
    write(this.#fd, data, null, 'utf8', () => {
      this.#writing = false
      if (this.#closing) this.close()
      else if (this.#buf !== '') this.flush()
    })
  }

  flushSync(): void {
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null }
    if (this.#buf === '') return
    try { writeSync(this.#fd, this.#buf) } catch { /* the log target is gone; nothing to do */ }
    this.#buf = ''
  }

  /** Flushes and closes; with a write in flight, the close waits for it so no line is lost. */
  close(): void {
    if (this.#closed) return
    this.#closing = true
    if (this.#writing) return
    this.flushSync()
    this.#closed = true
    if (this.#own) closeSync(this.#fd)
  }
}
