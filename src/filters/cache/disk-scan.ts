/**
 * The walk over a disk store's directory at start: every entry file's key and size (for purges by
 * prefix and the byte budget), in order of last use (mtime, which serving refreshes), oldest first.
 * Damaged files are removed; temps older than an hour (left by a crash: a live write renames or
 * removes its temp within a response's time) too. It runs in the background, one directory at a
 * time, so that start-up and requests never wait for it.
 */
import { open, readdir, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { parseName, readHead } from './disk-format.js'
import { ignore } from './disk-write.js'

const FAN = /^[0-9a-f]{2}$/
const OLD_TEMP = 3_600_000

/** One entry file found on disk. */
export interface Found {
  readonly name: string
  readonly key: string
  readonly size: number
  readonly bodyStart: number
  readonly mtime: number
}

export interface ScanOwner {
  /** The store was closed: stop. */
  readonly closed: boolean
  /** A file that is not a whole entry (removed), or a directory that could not be read. */
  scanFault(path: string, err: unknown): void
}

/** Every entry under `root`, oldest first. */
export async function scan(root: string, owner: ScanOwner): Promise<Found[]> {
  const found: Found[] = []
  for (const a of await list(root, owner)) {
    if (!FAN.test(a)) continue
    for (const b of await list(join(root, a), owner)) {
      if (!FAN.test(b)) continue
      if (owner.closed) return []
      const dir = join(root, a, b)
      await Promise.all((await list(dir, owner)).map((n) => look(dir, n, owner, found)))
    }
  }
  return found.sort((x, y) => x.mtime - y.mtime)
}

async function list(dir: string, owner: ScanOwner): Promise<string[]> {
  try {
    return await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') owner.scanFault(dir, err)
    return []
  }
}

async function look(dir: string, name: string, owner: ScanOwner, found: Found[]): Promise<void> {
  const path = join(dir, name)
  if (parseName(name) === null) {
    if (name.includes('.tmp.')) {
      const st = await stat(path).catch(() => null)
      if (st !== null && Date.now() - st.mtimeMs > OLD_TEMP) await unlink(path).catch(ignore)
    }
    return
  }
  const f = await readFound(path, owner)
  if (f !== null) found.push({ name, key: f.entry.key, size: f.size, bodyStart: f.bodyStart, mtime: f.mtime })
}

/** A file's header and meta, or null (gone meanwhile, or damaged: then removed and reported). */
export async function readFound(path: string, owner: ScanOwner): Promise<Awaited<ReturnType<typeof readHead>> | null> {
  let fh
  try {
    fh = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') owner.scanFault(path, err)
    return null
  }
  try {
    return await readHead(fh)
  } catch (err) {
    owner.scanFault(path, err)
    await unlink(path).catch(ignore)
    return null
  } finally {
    await fh.close().catch(ignore)
  }
}
