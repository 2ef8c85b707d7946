/** PLACEHOLDER: the Redis store (helper task). */
import type { RedisConfig } from '../../config/rate-limit.js'
import type { EventLog } from '../../log/events.js'
import type { Ask, Store, Verdict } from './store.js'

export class RedisStore implements Store {
  constructor(_cfg: RedisConfig, _events: EventLog | null) {}
  take(_asks: readonly Ask[]): Promise<Verdict[]> { throw new Error('not yet') }
  release(_key: string): void {}
  close(): Promise<void> { return Promise.resolve() }
}
