// Copies the dashboard's files into dist/web/dashboard (the admin listener serves them from there,
// src/admin/dashboard/assets.ts): the page's own files from web/dashboard, and uPlot's built files
// from node_modules (a dev dependency: bundled at build, so nothing is fetched at run time).
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const out = 'dist/web/dashboard'
mkdirSync(out, { recursive: true })
for (const f of readdirSync('web/dashboard')) copyFileSync(join('web/dashboard', f), join(out, f))
for (const f of ['uPlot.iife.min.js', 'uPlot.min.css']) copyFileSync(join('node_modules/uplot/dist', f), join(out, f))
