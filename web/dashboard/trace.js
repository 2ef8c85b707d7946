// The trace page: finished traces arrive live from GET /traces/stream (the last 20 first), newest on
// top; the one selected (the newest, until a person picks another) is shown whole. A record's shape
// is src/trace/record.ts's TraceRecord:
//   { id, started, client, received, spans: [{ kind, offset, length, text }], steps: [{ at, phase, what,
//     verdict?, why?, rfc? }], route?, peer?, upstreamHead?: [{ text, change }], responseHead?, framing?,
//     status?, timings: { name: ms }, masked: [name] }
import { takeTokenFromAddress, follow, post, signOut, el, num, toast } from './common.js'

const KEEP = 100
const traces = []
let selected = null
let pinned = false

/**
 * `received` as one unit per raw byte: printable ASCII as it is, `\r`, `\n` (with the real newline
 * after it), `\xNN`. Span offsets count raw bytes, so they index these units.
 */
export function units(escaped) {
  const out = []
  for (let i = 0; i < escaped.length; i++) {
    const c = escaped[i]
    if (c === '\\' && escaped[i + 1] === 'r') { out.push({ text: '\\r', esc: true }); i++ }
    else if (c === '\\' && escaped[i + 1] === 'n') { out.push({ text: '\\n\n', esc: true }); i += escaped[i + 2] === '\n' ? 2 : 1 }
    else if (c === '\\' && escaped[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(escaped.slice(i + 2, i + 4))) { out.push({ text: escaped.slice(i, i + 4), esc: true }); i += 3 }
    else out.push({ text: c, esc: false })
  }
  return out
}

/** The escaped bytes with each span's kind marked (runs of one kind in one element). */
function bytesView(escaped, spans) {
  const u = units(escaped)
  const kind = new Array(u.length).fill('')
  for (const s of spans ?? []) for (let i = s.offset; i < Math.min(u.length, s.offset + s.length); i++) kind[i] = s.kind
  const pre = el('pre', { class: 'bytes' })
  let i = 0
  while (i < u.length) {
    const k = kind[i]
    const run = el('span', k === '' ? {} : { class: `k-${k}`, title: k })
    while (i < u.length && kind[i] === k) {
      run.append(u[i].esc ? el('span', { class: 'esc' }, u[i].text) : u[i].text)
      i++
    }
    pre.append(run)
  }
  return pre
}

function spanText(r, kind) { return r.spans?.find((s) => s.kind === kind)?.text ?? '' }

function title(r) {
  return `${spanText(r, 'method')} ${spanText(r, 'target')}`.trim() || r.id
}

function legend() {
  return el('div', { class: 'legend' }, ...['method', 'target', 'version', 'header-name', 'header-value', 'body'].map((k) => el('span', { class: `k-${k}` }, k)))
}

function stepsTable(steps) {
  const rows = steps.map((s) => el('tr', { 'data-phase': s.phase },
    el('td', {}, `${s.at.toFixed(3)} ms`), el('td', {}, s.phase), el('td', {}, s.what),
    el('td', { class: s.verdict ? `verdict-${s.verdict.toLowerCase().split(/\W/)[0]}` : '' }, s.verdict ?? ''),
    el('td', {}, s.why ?? ''), el('td', {}, s.rfc ?? '')))
  return el('div', { class: 'scroll' }, el('table', { class: 'steps' },
    el('thead', {}, el('tr', {}, ...['at', 'phase', 'what', 'verdict', 'why', 'RFC'].map((h) => el('th', {}, h)))), el('tbody', {}, ...rows)))
}

function timingsView(timings) {
  const entries = Object.entries(timings ?? {})
  const total = timings?.total ?? Math.max(0, ...entries.map(([, v]) => v))
  const box = el('div', { class: 'timing' })
  for (const [name, v] of entries) {
    const bar = el('div', { class: 'bar' })
    bar.style.width = `${total > 0 ? Math.max(0.5, (100 * v) / total) : 0}%`
    box.append(el('span', { 'data-timing': name }, name), bar, el('span', {}, `${v.toFixed(3)} ms`))
  }
  return box
}

function detail(r) {
  const d = document.getElementById('detail')
  if (r === null) { d.replaceChildren(); return }
  const when = new Date(r.started)
  d.replaceChildren(
    el('h2', {}, `${title(r)} → ${r.status ?? '…'}`),
    el('p', { class: 'muted' }, `${when.toLocaleTimeString()} · ${r.client.address}:${r.client.port} on ${r.client.listener}${r.client.tls ? ' (TLS)' : ''} · route ${r.route ?? '–'} · peer ${r.peer ?? '–'} · id ${r.id}`),
    el('h3', {}, 'Received'), legend(), bytesView(r.received, r.spans),
    r.masked?.length ? el('p', { class: 'muted' }, `masked: ${r.masked.join(', ')}`) : null,
    el('h3', {}, 'Steps'), stepsTable(r.steps ?? []),
    el('h3', {}, 'Head sent upstream'),
    r.upstreamHead ? el('ol', { class: 'head-lines' }, ...r.upstreamHead.map((l) => el('li', { class: l.change, title: l.change }, l.text))) : el('p', { class: 'muted' }, 'nothing was sent upstream'),
    el('h3', {}, 'Response head'),
    r.responseHead ? bytesView(r.responseHead, []) : el('p', { class: 'muted' }, 'no response head'),
    el('h3', {}, 'Framing'), el('p', { id: 'framing' }, r.framing ?? '–'),
    el('h3', {}, 'Timings'), timingsView(r.timings),
  )
}

function drawList() {
  const list = document.getElementById('list')
  document.getElementById('count').textContent = traces.length === 0 ? '' : `(${traces.length})`
  if (traces.length === 0) return
  list.replaceChildren(...traces.map((r) => {
    const li = el('li', { 'data-id': r.id, 'aria-selected': String(r === selected), tabindex: '0' },
      el('b', {}, title(r)), ` → ${r.status ?? '…'} `, el('span', { class: 'muted' }, `${num(r.timings?.total ?? null)} ms · ${new Date(r.started).toLocaleTimeString()}`))
    return li
  }))
}

function add(r) {
  if (traces.some((x) => x.id === r.id)) return
  traces.unshift(r)
  if (traces.length > KEEP) traces.pop()
  if (!pinned || selected === null) { selected = r; detail(r) }
  drawList()
}

function pick(ev) {
  const li = ev.target.closest('li[data-id]')
  if (li === null) return
  selected = traces.find((r) => r.id === li.dataset.id) ?? null
  pinned = selected !== traces[0]
  detail(selected)
  drawList()
}
document.getElementById('list').addEventListener('click', pick)
document.getElementById('list').addEventListener('keydown', (ev) => { if (ev.key === 'Enter') pick(ev) })

document.getElementById('arm').addEventListener('submit', async (ev) => {
  ev.preventDefault()
  const f = ev.target.elements
  const q = new URLSearchParams({ count: f.count.value || '1' })
  if (f.route.value.trim() !== '') q.set('route', f.route.value.trim())
  if (f.path.value.trim() !== '') q.set('path', f.path.value.trim())
  const r = await post(`/traces?${q}`)
  toast(r.ok ? `armed: the next ${q.get('count')} matching request(s) will be traced` : `refused (${r.status}) ${r.text.trim()}`, !r.ok)
  if (r.ok) document.body.dataset.armed = q.get('count')
})

document.getElementById('signout').addEventListener('click', () => { signOut(); location.reload() })

takeTokenFromAddress()
const conn = document.getElementById('conn')
follow('/traces/stream', { trace: add }, (word) => { conn.textContent = word; conn.className = `pill ${word.split(' ')[0]}` })
