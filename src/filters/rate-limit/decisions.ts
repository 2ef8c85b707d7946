/**
 * The rate limits' decisions, counted per limit name for the metrics (admin/feature-metrics.ts):
 * one array per name for the life of the process, found once when a route's limits are compiled, so
 * a reload never resets a count and a decision costs one increment.
 */
export const ALLOWED = 0
export const REFUSED = 1
export const DELAYED = 2
export const DRY_RUN = 3
export const DECISIONS = ['allowed', 'refused', 'delayed', 'dry_run'] as const

const byName = new Map<string, Float64Array>()

/** The counts of limit `name` (made on first use). */
export function decisionsFor(name: string): Float64Array {
  let a = byName.get(name)
  if (a === undefined) byName.set(name, a = new Float64Array(DECISIONS.length))
  return a
}

/** Every limit's counts, by name. */
export function allDecisions(): ReadonlyMap<string, Float64Array> {
  return byName
}
