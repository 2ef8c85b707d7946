/**
 * The bench-peers results as an SVG bar chart, written as text: one small panel per cell (rows: body
 * size, columns: connection mode and count), one bar per design, requests/s. Each panel has its own
 * scale, since 0 B and 1 MiB differ a thousandfold; the numbers are on the bars.
 *
 *   node dist/bench/peers/chart.js bench/results/peers-latest.json > bench/results/peers-latest.svg
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Results, sizeLabel } from './matrix.js'

const COLOURS: Record<string, string> = {
  straight: '#9e9e9e', rawproxy: '#d84315', nginx: '#2e7d32', haproxy: '#1565c0', caddy: '#00838f', 'tcp-pipe': '#6a1b9a',
}
const SPARE = ['#f9a825', '#5d4037', '#ad1457', '#283593']

const PANEL_W = 210
const PANEL_H = 150
const GAP = 14
const LEFT = 70
const TOP = 90

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const short = (n: number): string => (n >= 9950 ? `${(n / 1000).toFixed(0)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0))

function text(x: number, y: number, s: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`
}

export function chart(r: Results): string {
  const names = r.designs.filter((d) => d.skipped === null).map((d) => d.name)
  const colour = (n: string, i: number): string => COLOURS[n] ?? SPARE[i % SPARE.length]
  // Rows and columns in the order the cells were run.
  const sizes = [...new Set(r.cells.map((c) => c.cell.size))]
  const cols = [...new Set(r.cells.map((c) => `${c.cell.mode}/${c.cell.connections}`))]
  const width = Math.max(780, LEFT + cols.length * (PANEL_W + GAP) + 10) // room for the title and legend
  const height = TOP + sizes.length * (PANEL_H + GAP) + 30
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    text(10, 20, `Requests/s by design: rawproxy beside nginx, HAProxy and Caddy (${r.machine.date.slice(0, 10)}, ${r.machine.nproc} CPUs, proxy on one core)`, 'font-size="14" font-weight="bold"'),
  ]
  // Legend.
  let lx = 10
  for (const [i, n] of names.entries()) {
    out.push(`<rect x="${lx}" y="32" width="12" height="12" fill="${colour(n, i)}"/>`, text(lx + 16, 42, n))
    lx += 28 + n.length * 7
  }
  out.push(text(10, 64, 'Each panel has its own scale. "new conn/req": wrk sends Connection: close.', 'fill="#555"'))
  for (const [ci, col] of cols.entries()) {
    const [mode, conns] = col.split('/')
    out.push(text(LEFT + ci * (PANEL_W + GAP) + PANEL_W / 2, TOP - 4, `${conns} conn · ${mode === 'close' ? 'new conn/req' : 'keep-alive'}`, 'text-anchor="middle" font-weight="bold"'))
  }
  for (const [ri, size] of sizes.entries()) {
    const y0 = TOP + ri * (PANEL_H + GAP)
    out.push(text(LEFT - 8, y0 + PANEL_H / 2, sizeLabel(size), 'text-anchor="end" font-weight="bold"'))
    for (const [ci, col] of cols.entries()) {
      const x0 = LEFT + ci * (PANEL_W + GAP)
      out.push(`<rect x="${x0}" y="${y0}" width="${PANEL_W}" height="${PANEL_H}" fill="#fafafa" stroke="#ddd"/>`)
      const c = r.cells.find((x) => x.cell.size === size && `${x.cell.mode}/${x.cell.connections}` === col)
      if (c === undefined) continue
      const max = Math.max(1, ...names.map((n) => c.results[n]?.rps ?? 0))
      const slot = (PANEL_W - 10) / names.length
      const plotH = PANEL_H - 28
      for (const [i, n] of names.entries()) {
        const res = c.results[n]
        if (res === undefined) continue
        const h = (res.rps / max) * plotH
        const x = x0 + 5 + i * slot + slot * 0.12
        const y = y0 + 14 + plotH - h
        out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot * 0.76).toFixed(1)}" height="${h.toFixed(1)}" fill="${colour(n, i)}"><title>${esc(`${n}: ${res.rps.toFixed(0)} req/s, p99 ${res.p99.toFixed(3)} ms, ${res.cpuUs.toFixed(1)} µs CPU/req`)}</title></rect>`,
          text(x + slot * 0.38, y - 2, short(res.rps) + (res.errors > 0 ? '!' : ''), 'text-anchor="middle" font-size="9"'))
      }
    }
  }
  out.push(text(10, height - 10, '"!" after a value: that run had errors (see the Markdown table). Drawn by bench/peers/chart.ts.', 'fill="#555"'), '</svg>', '')
  return out.join('\n')
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2]
  if (file === undefined) { console.error('usage: node dist/bench/peers/chart.js RESULTS.json > CHART.svg'); process.exit(2) }
  process.stdout.write(chart(JSON.parse(readFileSync(file, 'utf8')) as Results))
}
