/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and prints where the busy time went, by self time: our
 * code (mapped back to src/*.ts with the source maps), the llhttp WASM, node internals, native/VM
 * (C++ bindings, GC), and dependencies.
 *
 *   node dist/bench/profile/summary.js FILE.cpuprofile [TOP]
 */
import { readFileSync, existsSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { relative } from 'node:path'
import { fileURLToPath } from 'node:url'

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; hitCount?: number; children?: number[] }
interface Profile { nodes: ProfileNode[]; samples: number[]; startTime: number; endTime: number }

type Category = 'rawproxy' | 'llhttp wasm' | 'node internals' | 'native/VM' | 'dependencies' | 'idle'

interface Entry { label: string; category: Category; ms: number; /** Self plus callees. */ total: number }

const maps = new Map<string, SourceMap | null>()

/** "src/http/llhttp.ts:123" for a frame in dist/src, from the file's source map. */
function ourPlace(root: string, f: CallFrame): string {
  const file = f.url.startsWith('file:') ? fileURLToPath(f.url) : f.url
  if (!maps.has(file)) {
    const map = `${file}.map`
    maps.set(file, existsSync(map) ? new SourceMap(JSON.parse(readFileSync(map, 'utf8'))) : null)
  }
  const e = maps.get(file)?.findEntry(f.lineNumber, f.columnNumber) as { originalSource?: string; originalLine?: number } | undefined
  if (e?.originalSource === undefined) return `${relative(root, file)}:${f.lineNumber + 1}`
  const src = e.originalSource.startsWith('file:') ? fileURLToPath(e.originalSource) : resolvePath(file, e.originalSource)
  return `${relative(root, src)}:${e.originalLine! + 1}`
}

function resolvePath(from: string, rel: string): string {
  return new URL(rel, `file://${from}`).pathname
}

function categorise(f: CallFrame): Category {
  if (f.functionName === '(idle)') return 'idle'
  if (f.url.startsWith('node:')) return 'node internals'
  if (f.url.startsWith('wasm://') || f.functionName.startsWith('llhttp') || f.functionName.startsWith('wasm-function')) return 'llhttp wasm'
  if (f.url.includes('/node_modules/')) return 'dependencies'
  if (f.url.includes('/dist/')) return 'rawproxy'
  return 'native/VM'
}

function label(root: string, f: CallFrame, category: Category): string {
  const where = category === 'rawproxy' ? ourPlace(root, f)
    : f.url === '' ? '' : `${f.url.replace(/^file:\/\/.*\/node_modules\//, '')}:${f.lineNumber + 1}`
  return `${f.functionName || '(anonymous)'}${where === '' ? '' : `  ${where}`}`
}

export function summariseProfile(file: string, root: string, top = 15): string {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile
  const msPerSample = (p.endTime - p.startTime) / 1000 / Math.max(1, p.samples.length)
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const byLabel = new Map<string, Entry>()
  const entry = (n: ProfileNode): Entry => {
    const category = categorise(n.callFrame)
    const l = label(root, n.callFrame, category)
    let e = byLabel.get(l)
    if (e === undefined) byLabel.set(l, e = { label: l, category, ms: 0, total: 0 })
    return e
  }
  // Walk the call tree once: self time per node, and total (inclusive) time per function, counted
  // once per stack even when the function recurses.
  const onStack = new Set<Entry>()
  const walk = (n: ProfileNode): number => {
    const e = entry(n)
    const self = (n.hitCount ?? 0) * msPerSample
    e.ms += self
    const outer = !onStack.has(e)
    if (outer) onStack.add(e)
    let sub = self
    for (const c of n.children ?? []) sub += walk(byId.get(c)!)
    if (outer) { onStack.delete(e); e.total += sub }
    return sub
  }
  walk(p.nodes[0])
  const entries = [...byLabel.values()].filter((e) => e.ms > 0 || e.total > 0).sort((a, b) => b.ms - a.ms)
  const idle = entries.filter((e) => e.category === 'idle').reduce((a, e) => a + e.ms, 0)
  const busy = entries.filter((e) => e.category !== 'idle' && e.ms > 0)
  const busyMs = busy.reduce((a, e) => a + e.ms, 0)
  const pct = (ms: number): string => `${(100 * ms / busyMs).toFixed(1).padStart(5)}%`
  const out: string[] = [`busy ${busyMs.toFixed(0)} ms, idle ${idle.toFixed(0)} ms (${(100 * idle / (busyMs + idle)).toFixed(1)}%); % below are of busy time`, '']
  const cats: Category[] = ['rawproxy', 'llhttp wasm', 'node internals', 'native/VM', 'dependencies']
  out.push('self time by category:')
  for (const c of cats) out.push(`  ${c.padEnd(16)} ${pct(busy.filter((e) => e.category === c).reduce((a, e) => a + e.ms, 0))}`)
  const section = (title: string, list: Entry[], f: (e: Entry) => number): void => {
    out.push('', `${title}:`)
    for (const e of list.slice(0, top)) out.push(`  ${pct(f(e))}  ${f(e).toFixed(0).padStart(6)} ms  [${e.category}] ${e.label}`)
  }
  section(`top ${top} self time, all`, busy, (e) => e.ms)
  section(`top ${top} self time, rawproxy code`, busy.filter((e) => e.category === 'rawproxy'), (e) => e.ms)
  section(`top ${top} self time, node internals`, busy.filter((e) => e.category === 'node internals'), (e) => e.ms)
  section(`top ${top} self time, native/VM`, busy.filter((e) => e.category === 'native/VM'), (e) => e.ms)
  const ours = entries.filter((e) => e.category === 'rawproxy').sort((a, b) => b.total - a.total)
  section(`top ${top} total (self + callees) time, rawproxy code`, ours, (e) => e.total)
  return out.join('\n')
}

// Run as a script: summarise the file given.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2]
  if (file === undefined) { console.error('usage: node dist/bench/profile/summary.js FILE.cpuprofile [TOP]'); process.exit(2) }
  console.log(summariseProfile(file, process.cwd(), Number(process.argv[3] ?? 15)))
}
