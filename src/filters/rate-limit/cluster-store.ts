/** PLACEHOLDER: the worker side of the cluster store (helper task). */
import type { Ask, Store, Verdict } from './store.js'

export class ClusterStore implements Store {
  take(_asks: readonly Ask[]): Promise<Verdict[]> { throw new Error('not yet') }
  release(_key: string): void {}
}
