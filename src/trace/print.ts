/**
 * A trace record as text for a terminal (`rawproxy --trace` writes one to stderr per request):
 * the bytes received, the steps in aligned columns, the head sent upstream with its changes marked
 * (`-` removed, `+` added, `~` changed), the response head, the framing and the timings. With
 * `colour` (stderr is a TTY), ANSI colours: green for a pass, red for a failure or a removed line.
 */
import type { TraceRecord, TraceStep } from './record.js'

const ESC = '\u001b['
const PAINT = { dim: '2', bold: '1', red: '31', green: '32', yellow: '33', blue: '34', magenta: '35', cyan: '36' } as const
type Paint = keyof typeof PAINT

/** Width of the `what` column, at most. */
const WHAT_MAX = 48

function verdictPaint(v: string): Paint | null {
  if (v === 'pass' || v === 'ok' || v === 'matched' || v === 'picked' || v === 'reuse' || v === '--') return 'green'
  if (v === 'fail' || v === 'error' || /^\d{3}$/.test(v) || v.startsWith('answers') || /^[A-Z]{2}$/.test(v)) return 'red'
  return 'yellow'
}

/** C0 and C1 controls (ESC among them): a client's path or a peer's reason phrase never drives the operator's terminal. */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g

/** The record with every string's control characters shown as \xNN. */
function clean(r: TraceRecord): TraceRecord {
  return JSON.parse(JSON.stringify(r), (_k, v: unknown) =>
    (typeof v === 'string' ? v.replace(CONTROLS, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`) : v)) as TraceRecord
}

export function format(record: TraceRecord, colour: boolean): string {
  const r = clean(record)
  const c = (p: Paint | null, s: string): string => (colour && p !== null && s !== '' ? `${ESC}${PAINT[p]}m${s}${ESC}0m` : s)
  const span = (k: string): string => r.spans.find((s) => s.kind === k)?.text ?? ''
  // A refused head has no spans: its first line stands in (escaped, without its line end).
  const title = span('method') !== '' ? `${span('method')} ${span('target')}` : r.received.split('\\r')[0].slice(0, 60)
  const out: string[] = []
  const total = r.timings.total ?? 0
  out.push(c('bold', `── trace ${r.id} ── ${title} → ${r.status ?? '-'} ── ${r.client.address}:${r.client.port} on ${r.client.listener}${r.client.tls ? ' (TLS)' : ''} ── ${total.toFixed(3)} ms`))
  out.push(c('cyan', 'received'))
  for (const l of r.received.split('\n')) if (l !== '') out.push(`  ${c('dim', '│')} ${l}`)
  out.push(c('cyan', 'steps'))
  const width = Math.min(WHAT_MAX, Math.max(...r.steps.map((s) => s.what.length)))
  for (const s of r.steps) out.push(stepLine(s, width, c))
  if (r.upstreamHead !== undefined) {
    out.push(c('cyan', `upstream head${r.peer === undefined ? '' : ` → ${r.peer}`}`))
    for (const l of r.upstreamHead) {
      const mark = l.change === 'kept' ? ' ' : l.change === 'added' ? '+' : l.change === 'removed' ? '-' : '~'
      const p: Paint | null = l.change === 'kept' ? null : l.change === 'added' ? 'green' : l.change === 'removed' ? 'red' : 'yellow'
      out.push(`  ${c(p, `${mark} ${l.text}`)}`)
    }
  }
  if (r.responseHead !== undefined) {
    out.push(c('cyan', 'response head'))
    for (const l of r.responseHead.split('\n')) if (l !== '') out.push(`  ${c('dim', '│')} ${l}`)
  }
  if (r.framing !== undefined) out.push(`${c('cyan', 'framing')}   ${r.framing}`)
  out.push(`${c('cyan', 'timings')}   ${Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(' · ')} ms`)
  if (r.masked.length > 0) out.push(`${c('cyan', 'masked')}    ${r.masked.join(', ')}`)
  return `${out.join('\n')}\n\n`
}

function stepLine(s: TraceStep, width: number, c: (p: Paint | null, s: string) => string): string {
  const what = s.what.length > width ? `${s.what.slice(0, width - 1)}…` : s.what.padEnd(width)
  const verdict = s.verdict === undefined ? ''.padEnd(12) : c(verdictPaint(s.verdict), s.verdict.padEnd(12))
  const tail = [s.rfc === undefined ? '' : c('magenta', s.rfc), s.why ?? ''].filter((t) => t !== '').join('  ')
  return `  ${c('dim', s.at.toFixed(3).padStart(9))}  ${c('blue', s.phase.padEnd(8))}  ${what}  ${verdict}${tail}`.trimEnd()
}
