/**
 * The Prometheus text exposition format, version 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats),
 * and the merge of several processes' families into one view (a cluster primary and its workers).
 */
import type { FamilyData, HistSample, Sample } from './registry.js'

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/** A label value escaped as the format asks: backslash, double quote and line feed. */
function esc(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`))
}

/** A HELP text escaped: backslash and line feed. */
function escHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'))
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts: string[] = []
  for (let i = 0; i < names.length; i++) parts.push(`${names[i]}="${esc(values[i])}"`)
  if (extra !== '') parts.push(extra)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}

/** A number as the format writes it (Go's ParseFloat reads +Inf, -Inf, NaN). */
function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Infinity) return '+Inf'
  if (v === -Infinity) return '-Inf'
  return String(v)
}

/** The families as Prometheus text; a family with no series writes only its HELP and TYPE. */
export function render(families: readonly FamilyData[]): string {
  const out: string[] = []
  for (const f of families) {
    out.push(`# HELP ${f.name} ${escHelp(f.help)}`, `# TYPE ${f.name} ${f.kind}`)
    if (f.kind !== 'histogram') {
      for (const s of f.samples as Sample[]) out.push(`${f.name}${labelText(f.labels, s.labels)} ${num(s.value)}`)
      continue
    }
    const bounds = f.bounds!
    for (const s of f.samples as HistSample[]) {
      let acc = 0
      for (let i = 0; i <= bounds.length; i++) {
        acc += s.buckets[i]
        const le = i < bounds.length ? String(bounds[i]) : '+Inf'
        out.push(`${f.name}_bucket${labelText(f.labels, s.labels, `le="${le}"`)} ${acc}`)
      }
      out.push(`${f.name}_sum${labelText(f.labels, s.labels)} ${num(s.sum)}`, `${f.name}_count${labelText(f.labels, s.labels)} ${s.count}`)
    }
  }
  return out.join('\n') + '\n'
}

/**
 * One view of several processes' families (`parts[i]` read in process `who[i]`): `sum` families add
 * up by label set, `worker` families keep each process's series under a `worker` label, `max`
 * families (the same fact in every process: a certificate's expiry) keep the largest. A family
 * missing from a process (a worker on an older config) is simply not added.
 */
export function merge(parts: readonly (readonly FamilyData[])[], who: readonly string[]): FamilyData[] {
  const byName = new Map<string, { head: FamilyData; rows: Map<string, Sample | HistSample> }>()
  parts.forEach((families, p) => {
    for (const f of families) {
      let e = byName.get(f.name)
      if (e === undefined) {
        const labels = f.merge === 'worker' ? [...f.labels, 'worker'] : f.labels
        e = { head: { ...f, labels, samples: [] }, rows: new Map() }
        byName.set(f.name, e)
      }
      for (const s of f.samples) {
        const labels = f.merge === 'worker' ? [...s.labels, who[p]] : s.labels
        const k = labels.join('\u0000')
        const had = e.rows.get(k)
        e.rows.set(k, had === undefined ? { ...s, labels } : f.merge === 'max' ? max(had as Sample, s as Sample) : add(had, s))
      }
    }
  })
  return [...byName.values()].map((e) => ({ ...e.head, samples: [...e.rows.values()] }))
}

function max(a: Sample, b: Sample): Sample {
  return b.value > a.value ? { labels: a.labels, value: b.value } : a
}

function add(a: Sample | HistSample, b: Sample | HistSample): Sample | HistSample {
  if ('buckets' in a) {
    const h = b as HistSample
    return { labels: a.labels, buckets: a.buckets.map((n, i) => n + h.buckets[i]), sum: a.sum + h.sum, count: a.count + h.count }
  }
  return { labels: a.labels, value: a.value + (b as Sample).value }
}
