// Runs every spec under c8 and uvu, then prints the closing line "N passed, N failed" and exits
// non-zero on any failure or when coverage falls under the floor (COVERAGE_FLOOR, set by the Makefile).
import { spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

// Modules that compile to no code at all (type-only, like src/proxy/downstream.ts) have nothing to
// run and nothing to cover; c8 --all would count their comment lines as uncovered.
function typeOnly(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return typeOnly(p)
    if (!p.endsWith('.js')) return []
    const code = readFileSync(p, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '').replace(/export \{\};?/g, '').replace(/^import .*$/gm, '').trim()
    return code === '' ? [p] : []
  })
}

const floor = process.env.COVERAGE_FLOOR ?? '85'
const pattern = process.env.SPEC ?? '\\.spec\\.js$'
// Declarations (from `npm pack`'s build, tsconfig.build.json) are no code either.
const excluded = [...typeOnly('dist/src'), 'dist/src/**/*.d.ts'].flatMap((p) => ['--exclude', p])
const args = ['c8', '--reporter=text-summary', '--reporter=text', '--all', '--src', 'dist/src', '--include', 'dist/src/**', ...excluded,
  '--check-coverage', `--lines=${floor}`, 'uvu', 'dist/spec', pattern]
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'] })
let out = ''
child.stdout.on('data', (d) => { process.stdout.write(d); out += d.toString() })
child.on('close', (code) => {
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? 0)
  const failed = Math.max(total - passed, code === 0 ? 0 : 1)
  if (code !== 0 && failed === 0) console.log('(coverage below the floor or a runner error)')
  console.log(`${passed} passed, ${failed} failed`)
  process.exit(code === 0 && failed === 0 && total > 0 ? 0 : 1)
})
