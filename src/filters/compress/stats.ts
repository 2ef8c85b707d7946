/**
 * What compression did, for the process's life (admin/feature-metrics.ts): per operation, the
 * responses, the bytes that went into zlib and came out, and the failures (a peer's broken gzip).
 * `copy` counts hits served from a kept copy (compress/copies.ts), which run no zlib.
 */
export const OPS = ['gzip', 'br', 'gunzip', 'copy'] as const
export type StatOp = typeof OPS[number]

export const responses = new Float64Array(OPS.length)
export const bytesIn = new Float64Array(OPS.length)
export const bytesOut = new Float64Array(OPS.length)
export const failures = new Float64Array(OPS.length)

export function opIndex(op: StatOp): number {
  return op === 'gzip' ? 0 : op === 'br' ? 1 : op === 'gunzip' ? 2 : 3
}
