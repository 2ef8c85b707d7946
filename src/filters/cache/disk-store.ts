/**
 * The disk store (being written): entries as files under `path`, shared by the workers of a cluster.
 */
import type { Content } from '../../proxy/content.js'
import type { CacheStore, StoreStats } from './store.js'
import type { Entry } from './entry.js'
import type { Fill } from './fill.js'

export class DiskStore implements CacheStore {
  readonly settings: string
  constructor(readonly path: string, readonly maxSize: number, readonly maxObject: number, settings: string) {
    this.settings = settings
  }
  lookup(_key: string): readonly Entry[] { return [] }
  begin(_e: Entry): Fill | null { return null }
  content(_e: Entry): Content { throw new Error('not built') }
  touch(_e: Entry): void {}
  update(_e: Entry): void {}
  remove(_e: Entry): void {}
  removeKey(_key: string): number { return 0 }
  removePrefix(_prefix: string): number { return 0 }
  stats(): StoreStats { return { entries: 0, bytes: 0, evicted: 0, faults: 0 } }
  close(): void {}
}
