// Time-series charts over uPlot (bundled: /ui/uPlot.iife.min.js), one per figure of the page. The
// series may change (an upstream appears after a reload): the plot is then made again, otherwise its
// data are replaced each second. Colors follow the page's light or dark scheme.

const PALETTE = ['#2563eb', '#16a34a', '#d97706', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#9333ea', '#ea580c']

function css(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim() }

export class Chart {
  /** `figure`: the <figure> with a .plot and a caption's .now; `unit`: shown on the axis values. */
  constructor(figure, unit) {
    this.figure = figure
    this.box = figure.querySelector('.plot')
    this.now = figure.querySelector('.now')
    this.unit = unit
    this.plot = null
    this.labels = ''
    new ResizeObserver(() => this.plot?.setSize(this.#size())).observe(this.box)
    matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => { this.labels = '' })
  }

  #size() { return { width: Math.max(200, this.box.clientWidth), height: 200 } }

  /** `x`: epoch seconds; `series`: [{ label, values, color? }]; `caption`: the "now" text. */
  update(x, series, caption) {
    this.now.textContent = caption
    this.figure.dataset.now = caption
    const labels = series.map((s) => s.label).join('\u0000')
    const data = [x, ...series.map((s) => s.values)]
    if (this.plot !== null && labels === this.labels) { this.plot.setData(data); return }
    this.plot?.destroy()
    this.labels = labels
    const fg = css('--muted'), grid = css('--grid')
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } }
    const unit = this.unit
    this.plot = new uPlot({
      ...this.#size(),
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [axis, { ...axis, size: 66, values: (_u, vals) => vals.map((v) => `${+v.toFixed(2)}${unit}`) }],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.color ?? PALETTE[i % PALETTE.length], width: 1.5, points: { show: false }, value: (_u, v) => (v === null ? '–' : `${+v.toFixed(2)}${unit}`) }))],
    }, data, this.box)
  }
}
