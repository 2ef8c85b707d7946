/**
 * Test support for spec/trace: a proxy whose trace records are collected, and `received` turned back
 * into bytes (record.ts escaping) so that span offsets can be checked against them.
 */
import type { TraceRecord } from '../../src/trace/record.js'
import type { ProxyHandle } from '../support/harness.js'
import { waitFor } from '../support/harness.js'

/** The bytes `received` stands for: \r, \n (with its real newline), \xNN undone. */
export function unescape(s: string): Buffer {
  const text = s.replace(/\\n\n/g, '\n').replace(/\\r/g, '\r').replace(/\\x([0-9a-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))
  return Buffer.from(text, 'latin1')
}

/** Collects every record `px` finishes. */
export function collect(px: ProxyHandle): TraceRecord[] {
  const out: TraceRecord[] = []
  px.server.tracer.watchers.add((r) => { out.push(r) })
  return out
}

export async function records(list: TraceRecord[], n: number): Promise<TraceRecord[]> {
  await waitFor(() => list.length >= n, 3000, `${n} trace records, got ${list.length}`)
  return list
}

/** The steps of `r` in one phase. */
export function steps(r: TraceRecord, phase: string): TraceRecord['steps'] {
  return r.steps.filter((s) => s.phase === phase)
}
