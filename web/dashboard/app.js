// The dashboard: one stream (GET /dashboard/stream) gives the last 15 minutes at once (`snapshot`),
// then a `tick` each second and each event as it is logged (`log`); the page draws from what it holds.
import { takeTokenFromAddress, follow, post, signOut, el, num, ms, ago, duration, toast } from './common.js'
import { Chart } from './charts.js'

const HISTORY = 900
const ticks = []
let state = null
let windowSeconds = 300

const charts = {
  rps: new Chart(document.getElementById('chart-rps'), ''),
  latency: new Chart(document.getElementById('chart-latency'), ' ms'),
  p99: new Chart(document.getElementById('chart-upstream-p99'), ' ms'),
  classes: new Chart(document.getElementById('chart-classes'), ''),
}

const upstreamName = (u) => (u === '' ? '(answered here)' : u)

function shown() { return ticks.slice(-windowSeconds) }

function drawCharts() {
  const t = shown()
  const x = t.map((k) => k.t / 1000)
  const last = ticks[ticks.length - 1]
  const ups = [...new Set(t.flatMap((k) => Object.keys(k.up)))].sort()
  charts.rps.update(x, [
    { label: 'all', values: t.map((k) => k.rps), color: '#6b7280' },
    ...ups.map((u) => ({ label: upstreamName(u), values: t.map((k) => k.up[u]?.rps ?? 0) })),
  ], last ? `now ${num(last.rps)} req/s` : '')
  charts.latency.update(x, ['p50', 'p95', 'p99'].map((label, i) => ({ label, values: t.map((k) => (k.p === null ? null : k.p[i])) })),
    last?.p ? `now p50 ${ms(last.p[0])} · p95 ${ms(last.p[1])} · p99 ${ms(last.p[2])}` : 'now no request')
  const withUp = ups.filter((u) => u !== '')
  charts.p99.update(x, withUp.map((u) => ({ label: u, values: t.map((k) => k.up[u]?.p?.[2] ?? null) })),
    withUp.map((u) => `${u} ${ms(last?.up[u]?.p?.[2])}`).join(' · '))
  const classes = ['2xx', '3xx', '4xx', '5xx', 'none']
  const colors = { '2xx': '#16a34a', '3xx': '#0891b2', '4xx': '#d97706', '5xx': '#dc2626', none: '#6b7280' }
  charts.classes.update(x, classes.map((c) => ({ label: c, values: t.map((k) => k.classes[c] ?? 0), color: colors[c] })),
    last ? classes.filter((c) => last.classes[c]).map((c) => `${c} ${num(last.classes[c])}/s`).join(' · ') : '')
}

function kpi(id, label, value, title) {
  let k = document.getElementById(id)
  if (k === null) {
    k = el('div', { class: 'kpi', id, title }, el('div', { class: 'label' }, label), el('div', { class: 'value' }))
    document.getElementById('kpis').append(k)
  }
  k.querySelector('.value').textContent = value
}

function sum(t, f) { return t.reduce((a, k) => a + f(k), 0) }

function drawKpis() {
  const last = ticks[ticks.length - 1]
  if (last === undefined) return
  const t = shown()
  const lookups = sum(t, (k) => k.cacheLookups)
  kpi('kpi-rps', 'Requests/s', num(last.rps), 'requests answered in the last second')
  kpi('kpi-p99', 'p99 latency', ms(last.p?.[2]), 'the whole exchange, last second')
  kpi('kpi-inflight', 'In flight', num(last.inflight))
  kpi('kpi-conns', 'Connections', num(last.conns), 'client connections open now')
  kpi('kpi-5xx', '5xx/s', num(last.classes['5xx'] ?? 0))
  kpi('kpi-cache', 'Cache hit ratio', lookups === 0 ? '–' : `${Math.round((100 * sum(t, (k) => k.cacheHits)) / lookups)}%`, 'hits (fresh, stale, revalidated) of cacheable lookups in the window')
  kpi('kpi-limited', 'Rate limited/s', num(last.limited), 'rate-limit refusals (429) in the last second')
  kpi('kpi-auth', 'Auth failures/s', num(last.authFailed))
  kpi('kpi-tls', 'TLS handshakes/s', `${num(last.tls)}${last.tlsFailed > 0 ? ` (${num(last.tlsFailed)} failed)` : ''}`)
  kpi('kpi-accepted', 'New connections/s', num(last.accepted))
}

function drawFacts() {
  if (state === null) return
  const r = state.last_reload
  const facts = [
    ['Version', state.version], ['PID', state.pid], ['Uptime', duration(state.uptime)],
    ['Workers', state.workers === null ? 'single process' : state.workers.length],
    ['Config', `${state.config.digest} · loaded ${ago(state.config.loaded_at)}`],
    ['Reloads', `${state.config.reloads_ok} ok, ${state.config.reloads_failed} failed`],
    ['Last reload', r === null ? 'none' : r.ok ? `ok ${ago(r.time)}` : `refused ${ago(r.time)}: ${r.error ?? ''}`],
    ['Sampler', `${num(state.sampler_ms)} ms/s`],
  ]
  document.getElementById('facts').replaceChildren(...facts.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v))))
}

/** Keeps one <tr> per key, in order, and lets `fill` set its cells: buttons survive each second. */
function reconcile(tbody, rows, keyOf, make, fill) {
  const old = new Map([...tbody.children].map((tr) => [tr.dataset.key, tr]))
  const next = rows.map((row) => {
    const key = keyOf(row)
    let tr = old.get(key)
    if (tr === undefined) { tr = make(row); tr.dataset.key = key }
    fill(tr, row)
    return tr
  })
  tbody.replaceChildren(...next)
}

function cells(tr, values) {
  values.forEach((v, i) => { if (tr.children[i] && typeof v !== 'object') tr.children[i].textContent = v })
}

function probeText(p) {
  if (!p) return '–'
  return `${p.ok ? 'ok' : 'failed'} ${p.ms !== undefined ? ms(p.ms) : ''} ${ago(p.at)}${!p.ok && p.detail ? `: ${p.detail}` : ''}`
}

function drawPeers() {
  if (state === null) return
  const last = ticks[ticks.length - 1]
  const rows = []
  for (const g of state.upstreams) {
    rows.push({ kind: 'group', g })
    for (const p of g.peers) rows.push({ kind: 'peer', g, p })
  }
  const tbody = document.querySelector('#peers tbody')
  reconcile(tbody, rows, (r) => (r.kind === 'group' ? `g ${r.g.name}` : `${r.g.name} ${r.p.peer}`),
    (r) => {
      const tr = el('tr', { class: r.kind }, ...Array.from({ length: 9 }, () => el('td')))
      if (r.kind === 'peer') {
        tr.dataset.peer = `${r.g.name} ${r.p.peer}`
        tr.children[1].classList.add('state')
        tr.append(el('td', { class: 'actions' }, ...['drain', 'disable', 'enable'].map((a) =>
          el('button', { type: 'button', 'data-action': a, 'data-group': r.g.name, 'data-peer': r.p.peer }, a))))
      } else tr.append(el('td'))
      return tr
    },
    (tr, r) => {
      if (r.kind === 'group') {
        const u = last?.up[r.g.name]
        cells(tr, [`${r.g.name} (${r.g.balance})`, '', '', num(r.g.peers.reduce((a, p) => a + p.inflight, 0)), num(u?.rps ?? 0), ms(u?.p?.[2]), `${num(u?.err ?? 0)} 5xx/s`, '', ''])
        return
      }
      const p = r.p
      const pk = last?.peers[`${r.g.name} ${p.peer}`]
      cells(tr, [`${p.peer}${p.backup ? ' (backup)' : ''}`, p.state, p.effective_weight !== p.weight ? `${p.weight} (${p.effective_weight})` : p.weight,
        num(p.inflight), num(pk?.rps ?? 0), '', `${num(p.failures)}${pk?.fail ? ` (${num(pk.fail)}/s)` : ''}`, num(p.ejections), probeText(p.last_probe)])
      const st = tr.children[1]
      st.className = `state ${p.state}`
      st.title = p.detail
      tr.children[5].textContent = '–'
      tr.children[5].title = 'per-peer latency is not measured; see the upstream row'
      for (const b of tr.querySelectorAll('button')) {
        const a = b.dataset.action
        b.disabled = (a === 'enable') === (p.state !== 'draining' && p.state !== 'disabled')
      }
    })
}

function drawCauses() {
  const totals = new Map()
  for (const k of shown()) for (const [c, n] of Object.entries(k.causes)) totals.set(c, (totals.get(c) ?? 0) + n)
  const max = Math.max(1, ...totals.values())
  const rows = [...totals].sort((a, b) => b[1] - a[1])
  const tbody = document.querySelector('#causes tbody')
  if (rows.length === 0) { tbody.replaceChildren(el('tr', {}, el('td', { class: 'muted' }, 'no request in the window'))); return }
  tbody.replaceChildren(...rows.map(([c, n]) => {
    const bar = el('div', { class: 'bar' })
    bar.style.width = `${(100 * n) / max}%`
    return el('tr', { 'data-cause': c }, el('td', { title: c === '--' ? 'completed normally' : '' }, c), el('td', {}, num(Math.round(n))), el('td', { class: 'wide' }, bar))
  }))
}

function drawListeners() {
  if (state === null) return
  const tbody = document.querySelector('#listeners tbody')
  tbody.replaceChildren(...state.listeners.map((l) => el('tr', {}, ...[l.listener, num(l.open), num(l.accepted), num(l.tls_ok), num(l.tls_failed)].map((v) => el('td', {}, v)))))
  document.getElementById('workers').textContent = state.workers === null ? 'One process (no workers).'
    : `Workers: ${state.workers.map((w) => `${w.worker} (${num(w.rss / 1048576, 0)} MiB)`).join(', ')}`
}

function eventItem(e) {
  const { time, level, event, ...fields } = e
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ')
  return el('li', { class: `level-${level}`, 'data-event': event }, el('time', { datetime: time }, new Date(time).toLocaleTimeString()), el('span', { class: `level-${level}` }, level), el('span', {}, el('b', {}, event), ' ', el('span', { class: 'fields' }, rest)))
}

function addEvent(e) {
  const list = document.getElementById('events')
  list.prepend(eventItem(e))
  while (list.children.length > 100) list.lastElementChild.remove()
}

function drawAll() {
  drawKpis(); drawFacts(); drawCharts(); drawPeers(); drawCauses(); drawListeners()
}

document.querySelector('.window').addEventListener('click', (ev) => {
  const b = ev.target.closest('button[data-window]')
  if (b === null) return
  windowSeconds = Number(b.dataset.window)
  for (const x of document.querySelectorAll('button[data-window]')) x.setAttribute('aria-pressed', String(x === b))
  drawAll()
})

document.getElementById('peers').addEventListener('click', async (ev) => {
  const b = ev.target.closest('button[data-action]')
  if (b === null) return
  const { action, group, peer } = b.dataset
  const r = await post(`/upstreams/${encodeURIComponent(group)}/peers/${encodeURIComponent(peer)}/${action}`)
  toast(r.ok ? `${peer}: ${action} done` : `${peer}: ${action} refused (${r.status}) ${r.text.trim()}`, !r.ok)
})

document.getElementById('signout').addEventListener('click', () => { signOut(); location.reload() })

takeTokenFromAddress()
const conn = document.getElementById('conn')
follow('/dashboard/stream', {
  snapshot(s) {
    ticks.splice(0, ticks.length, ...s.ticks)
    state = s.state
    document.getElementById('events').replaceChildren()
    for (const e of s.events) addEvent(e)
    drawAll()
  },
  tick({ tick, state: now }) {
    ticks.push(tick)
    if (ticks.length > HISTORY) ticks.shift()
    state = now
    drawAll()
  },
  log: addEvent,
}, (word) => { conn.textContent = word; conn.className = `pill ${word.split(' ')[0]}` })
