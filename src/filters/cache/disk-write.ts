/**
 * Writing an entry's file as its content arrives (a tee, DESIGN principle 2): the header and meta
 * first, then each slice in order, into a temp file next to the entry's place, renamed into place
 * when complete. A reader never sees a part-written entry, and a crash leaves only a temp (the
 * start-up scan removes old ones). Nothing is fsynced: a cache entry lost to a power cut is a miss.
 */
import { mkdir, open, rename, unlink } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Entry } from './entry.js'
import { Fill, FillOwner } from './fill.js'
import { HEADER, setLength, tempName } from './disk-format.js'

/**
 * How far the disk may fall behind the peer. The pending bytes are views of the Fill's buffer (no
 * copy), but while they wait the whole Fill stays in memory: past this, the entry is given up.
 */
export const MAX_BEHIND = 8 << 20
const COPY_CHUNK = 65536

/** What the store hears from a file being written. */
export interface WriteOwner {
  /** Renamed into place: the entry is on disk, `size` bytes. */
  written(f: DiskFill, size: number): void
  /** Not stored: given up (`err` null) or a fault of the disk (ENOSPC, EIO...). */
  notWritten(f: DiskFill, err: unknown): void
}

/** A Fill (readers in this process read it as it arrives) that also writes the entry's file. */
export class DiskFill extends Fill {
  readonly path: string
  readonly #temp: string
  readonly #head: Buffer
  readonly #writer: WriteOwner
  #fh: FileHandle | null = null
  #written = 0
  #ended = false
  #abandoned = false
  #busy = false
  /** Renamed, or discarded: nothing more to do. */
  #over = false

  constructor(e: Entry, owner: FillOwner & WriteOwner, max: number, path: string, head: Buffer) {
    super(e, owner, max)
    this.path = path
    this.#temp = tempName(path)
    this.#head = head
    this.#writer = owner
  }

  override write(data: Buffer): boolean {
    if (!super.write(data)) return false
    if (this.#over) return true
    if (this.received - this.#written > MAX_BEHIND) this.abandon()
    else this.#pump()
    return true
  }

  /** The content is complete: write the rest, then rename. */
  finish(): void {
    this.#ended = true
    this.#pump()
  }

  /** Not to be stored (failed, removed, too slow): the temp goes. The Fill's readers are not disturbed. */
  abandon(): void {
    if (this.#abandoned) return
    this.#abandoned = true
    this.#pump()
  }

  #pump(): void {
    if (this.#busy || this.#over) return
    this.#busy = true
    void this.#run()
  }

  /**
   * One loop at a time writes, in order, what has arrived, and returns to wait for more (`busy` is
   * cleared in the same turn as the last check, so a write arriving later starts the loop again).
   */
  async #run(): Promise<void> {
    let err: unknown = null
    try {
      while (!this.#abandoned) {
        if (this.#fh === null) this.#fh = await this.#open()
        else if (this.#written < this.received) {
          const b = this.slice(this.#written, this.received)
          await this.#fh.write(b, 0, b.length, this.#head.length + this.#written)
          this.#written += b.length
        } else if (this.#ended) {
          this.#over = true
          await this.#complete(this.#fh)
          return
        } else { this.#busy = false; return }
      }
    } catch (e) {
      err = e
    }
    this.#over = true
    await this.#discard()
    this.#writer.notWritten(this, err)
  }

  async #open(): Promise<FileHandle> {
    let fh: FileHandle
    try {
      fh = await open(this.#temp, 'wx')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      await mkdir(dirname(this.#temp), { recursive: true })
      fh = await open(this.#temp, 'wx')
    }
    await fh.write(this.#head, 0, this.#head.length, 0)
    return fh
  }

  async #complete(fh: FileHandle): Promise<void> {
    // A length the peer did not announce (chunked) is known now: the header says it.
    if (this.#head.readUIntLE(16, 6) !== this.received) {
      setLength(this.#head, this.received)
      await fh.write(this.#head, 0, HEADER, 0)
    }
    this.#fh = null
    await fh.close()
    // Given up while closing: not an error of the disk (null), and the temp goes.
    if (this.#abandoned) throw null
    await rename(this.#temp, this.path)
    this.#writer.written(this, this.#head.length + this.received)
  }

  async #discard(): Promise<void> {
    const fh = this.#fh
    this.#fh = null
    if (fh !== null) await fh.close().catch(ignore)
    await unlink(this.#temp).catch(ignore)
  }
}

/**
 * A new file for an entry whose head changed (a 304, RFC 9111 §4.3.4): the new head and meta, then
 * the content, from memory or copied from the old file; written aside and renamed like a fill, so a
 * crash or a failure leaves the old file whole. Resolves to the new file's size.
 */
export async function rewrite(path: string, head: Buffer, body: Buffer | null, from: string, bodyStart: number, length: number): Promise<number> {
  const temp = tempName(path)
  const out = await open(temp, 'wx')
  try {
    await out.write(head, 0, head.length, 0)
    if (body !== null) await out.write(body, 0, body.length, head.length)
    else await copy(from, bodyStart, length, out, head.length)
    await out.close()
    await rename(temp, path)
  } catch (e) {
    await out.close().catch(ignore)
    await unlink(temp).catch(ignore)
    throw e
  }
  return head.length + length
}

async function copy(from: string, start: number, length: number, out: FileHandle, at: number): Promise<void> {
  const src = await open(from, 'r')
  try {
    const b = Buffer.allocUnsafe(Math.min(COPY_CHUNK, Math.max(1, length)))
    for (let done = 0; done < length;) {
      const { bytesRead } = await src.read(b, 0, Math.min(b.length, length - done), start + done)
      if (bytesRead === 0) throw new Error('the entry file is shorter than its header says')
      await out.write(b, 0, bytesRead, at + done)
      done += bytesRead
    }
  } finally {
    await src.close().catch(ignore)
  }
}

export function ignore(): void {}
