/**
 * One-shot gzip jobs on reused zlib contexts. Making a zlib stream costs about what coding 64 KiB at
 * level 1 does: its JS stream objects, deflateInit's ~256 KiB of state, V8's accounting of that memory.
 * Measured in one process, 8 jobs at a time on one CPU, 64 KiB of JSON: a new stream per job 248 µs
 * of CPU at level 1 and 655 µs at level 6; a reused one 124 and 548. So a context that finished its
 * job is reset (deflateReset: a new gzip member from the same state) and kept for the next, at most
 * IDLE_MAX of each level. The work still runs in libuv's thread pool, never on the event loop.
 */
import { constants, createGzip, type Gzip } from 'node:zlib'

/** Idle contexts kept per level: ~300 KiB each. More in use at once are made, and closed after. */
const IDLE_MAX = 8

type Done = (err: Error | null, out: Buffer) => void

interface Job extends Gzip {
  parts: Buffer[]
  done: Done | null
  /** deflateReset (zlib.js has it; @types/node 20 does not declare it). */
  reset(): void
}

const idle = new Map<number, Job[]>()
const EMPTY = Buffer.alloc(0)

function make(level: number): Job {
  const z = createGzip({ level }) as Job
  z.parts = []
  z.done = null
  z.on('data', (b: Buffer) => { z.parts.push(b) })
  z.on('error', (err: Error) => {
    const done = z.done
    z.done = null
    z.destroy()
    done?.(err, EMPTY)
  })
  return z
}

/** `input` gzipped at `level`, as zlib's `gzip()` would, without a new context each time. */
export function gzipPooled(input: Buffer, level: number, done: Done): void {
  const z = idle.get(level)?.pop() ?? make(level)
  z.done = done
  z.write(input)
  // Z_FINISH: the whole member and its trailer. The callback runs once zlib has given all its output.
  z.flush(constants.Z_FINISH, () => {
    const finish = z.done
    if (finish === null) return
    z.done = null
    while (z.read() !== null) { /* output still buffered in the stream goes to 'data' */ }
    const out = z.parts.length === 1 ? z.parts[0] : Buffer.concat(z.parts)
    z.parts = []
    z.reset()
    const list = idle.get(level) ?? []
    if (list.length < IDLE_MAX) { list.push(z); idle.set(level, list) } else z.close()
    finish(null, out)
  })
}
