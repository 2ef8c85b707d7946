/**
 * Reading a stored entry's content from its file, as the client takes it: 64 KiB at a time, each in
 * a buffer of its own (the socket queues it without a copy), waiting for the sink's resume() when
 * the client's buffer is full (DESIGN principle 2). The head went out before the first read, so a
 * read that fails (the file was removed by another worker since the lookup, or is damaged) can only
 * cut the client, as a peer dying mid-body would.
 */
import { open } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import type { Content, ContentReader, ContentSink } from '../../proxy/content.js'
import { ignore } from './disk-write.js'

const CHUNK = 65536

/** Where a failed read is reported (the store forgets the file, and removes it if damaged). */
export interface ReadOwner {
  readFailed(path: string, err: unknown): void
}

export class FileContent implements Content {
  constructor(readonly path: string, readonly bodyStart: number, readonly length: number, readonly owner: ReadOwner) {}

  read(sink: ContentSink, start: number, end: number): ContentReader {
    return new FileReader(this, sink, start, end < 0 ? this.length : end)
  }
}

class FileReader implements ContentReader {
  readonly #c: FileContent
  readonly #sink: ContentSink
  #pos: number
  readonly #end: number
  #fh: FileHandle | null = null
  #paused = false
  #busy = false
  #over = false

  constructor(c: FileContent, sink: ContentSink, start: number, end: number) {
    this.#c = c
    this.#sink = sink
    this.#pos = start
    this.#end = end
    this.#pump()
  }

  resume(): void {
    this.#paused = false
    this.#pump()
  }

  cancel(): void {
    this.#over = true
    // A read in flight closes the file when it returns.
    if (!this.#busy) this.#close()
  }

  #pump(): void {
    if (this.#busy || this.#over) return
    this.#busy = true
    void this.#run()
  }

  async #run(): Promise<void> {
    const c = this.#c
    try {
      if (this.#pos < this.#end && this.#fh === null) this.#fh = await open(c.path, 'r')
      while (!this.#over && !this.#paused && this.#pos < this.#end) {
        const n = Math.min(CHUNK, this.#end - this.#pos)
        const b = Buffer.allocUnsafe(n)
        const { bytesRead } = await this.#fh!.read(b, 0, n, c.bodyStart + this.#pos)
        if (this.#over) break
        if (bytesRead === 0) throw new Error('the entry file is shorter than its header says')
        this.#pos += bytesRead
        if (!this.#sink.data(bytesRead === n ? b : b.subarray(0, bytesRead))) this.#paused = true
      }
      if (!this.#over && this.#pos >= this.#end) { this.#over = true; this.#sink.end() }
    } catch (err) {
      if (!this.#over) {
        this.#over = true
        c.owner.readFailed(c.path, err)
        this.#sink.abort('the stored entry could not be read')
      }
    }
    this.#busy = false
    if (this.#over) this.#close()
  }

  #close(): void {
    const fh = this.#fh
    this.#fh = null
    if (fh !== null) fh.close().catch(ignore)
  }
}
