// Shared by the dashboard (app.js) and the trace page (trace.js): the admin credentials, calls to the
// admin API with them, a server-sent event stream read with fetch, and small DOM helpers.
//
// Credentials: a token (or a user and password: Basic) is asked once and kept in sessionStorage (this
// tab only, gone when it closes); `#token=...` in the address is taken and removed from it (a
// fragment never reaches a server or a log). Every call sends it in Authorization: the stream too,
// read with fetch rather than EventSource (which cannot send a header), so no cookie exists that
// another site could make the browser send (no CSRF), and the token never appears in a URL.

const KEY = 'rawproxy-admin-auth'

export function takeTokenFromAddress() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash)
  if (m === null) return
  sessionStorage.setItem(KEY, `Bearer ${decodeURIComponent(m[1])}`)
  history.replaceState(null, '', location.pathname + location.search)
}

export function headers() {
  const a = sessionStorage.getItem(KEY)
  return a === null ? {} : { Authorization: a }
}

export function signOut() {
  sessionStorage.removeItem(KEY)
}

/** The sign-in dialog, made on first use. */
function loginDialog() {
  let dialog = document.getElementById('login')
  if (dialog !== null) return dialog
  const input = (label, name, type, auto) => el('label', {}, label, ' ', el('input', { name, type, autocomplete: auto }))
  dialog = el('dialog', { id: 'login' }, el('form', {},
    el('h2', {}, 'Sign in to the admin API'), el('p', { class: 'why' }),
    input('Token', 'token', 'password', 'off'),
    el('p', { class: 'muted' }, 'or, with admin.htpasswd:'),
    input('User', 'user', 'text', 'username'), input('Password', 'password', 'password', 'current-password'),
    el('button', { type: 'submit' }, 'Sign in')))
  document.body.append(dialog)
  return dialog
}

/** Asks for credentials in the sign-in dialog; resolves once they are stored. */
export function askCredentials(message) {
  const dialog = loginDialog()
  const form = dialog.querySelector('form')
  dialog.querySelector('.why').textContent = message
  return new Promise((resolve) => {
    form.onsubmit = (ev) => {
      ev.preventDefault()
      const token = form.elements.token.value.trim()
      const user = form.elements.user.value
      const password = form.elements.password.value
      if (token !== '') sessionStorage.setItem(KEY, `Bearer ${token}`)
      else if (user !== '') sessionStorage.setItem(KEY, `Basic ${btoa(unescape(encodeURIComponent(`${user}:${password}`)))}`)
      else return
      form.reset()
      dialog.close()
      resolve()
    }
    if (!dialog.open) dialog.showModal()
  })
}

/** A POST to the admin API with the credentials: `{ ok, status, text }`. */
export async function post(path) {
  const r = await fetch(path, { method: 'POST', headers: headers(), cache: 'no-store' })
  return { ok: r.ok, status: r.status, text: await r.text() }
}

/**
 * Reads the server-sent events at `path` (WHATWG HTML §9.2 framing) and calls `on[event](data)` with
 * each event's parsed JSON; reconnects after a drop; asks for credentials on 401. `status(word)` is
 * told 'live', 'reconnecting' or 'signed out'.
 */
export async function follow(path, on, status) {
  for (;;) {
    let r
    try {
      r = await fetch(path, { headers: headers(), cache: 'no-store' })
    } catch {
      status('reconnecting')
      await sleep(2000)
      continue
    }
    if (r.status === 401) {
      status('signed out')
      await askCredentials(sessionStorage.getItem(KEY) === null ? 'The admin API needs credentials.' : 'Those credentials were refused.')
      continue
    }
    if (!r.ok) { status(`error ${r.status}`); await sleep(3000); continue }
    status('live')
    try { await read(r.body, on) } catch { /* dropped: reconnect */ }
    status('reconnecting')
    await sleep(1000)
  }
}

async function read(body, on) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let buf = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buf += value
    let end
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end)
      buf = buf.slice(end + 2)
      let event = 'message'
      let data = ''
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim()
        else if (line.startsWith('data:')) data += line.slice(5).replace(/^ /, '')
      }
      if (data !== '' && on[event] !== undefined) on[event](JSON.parse(data))
    }
  }
}

export function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)) }

/** An element with attributes (`class`, `data-*`, `title`...) and children (strings become text). */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v))
  for (const c of children) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c))
  return e
}

/** A number for a person: 1234 → "1.2k", 0.5 → "0.5", null → "–". */
export function num(n, digits = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return '–'
  const a = Math.abs(n)
  if (a >= 1e9) return `${(n / 1e9).toFixed(digits)}G`
  if (a >= 1e6) return `${(n / 1e6).toFixed(digits)}M`
  if (a >= 1e4) return `${(n / 1e3).toFixed(digits)}k`
  if (Number.isInteger(n)) return String(n)
  return a >= 100 ? n.toFixed(0) : n.toFixed(a >= 10 ? 1 : 2)
}

export function ms(n) { return n === null || n === undefined ? '–' : `${num(n)} ms` }

export function ago(iso) {
  if (!iso) return '–'
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000))
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`
}

export function duration(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds / 3600) % 24, m = Math.floor(seconds / 60) % 60, s = seconds % 60
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`
}

/** Shows a short message at the bottom of the page. */
export function toast(text, bad = false) {
  const t = el('div', { class: `toast${bad ? ' bad' : ''}`, role: 'status' }, text)
  document.body.append(t)
  setTimeout(() => t.remove(), 4000)
}
