/**
 * The families of the process that takes reloads (a single process, or the cluster primary): config
 * reloads and the time of the last good one, and the build. Read from the Reloader (src/reload.ts).
 */
import { readFileSync } from 'node:fs'
import type { Reloader } from '../reload.js'
import { Registry, collected, type Family } from './registry.js'
import { processFamilies } from './process-metrics.js'

/** package.json's version, read once (dist/src/admin/ → the package root). */
export const VERSION: string = (() => {
  try { return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version } catch { return 'unknown' }
})()

/** The families of the process the admin API runs in: reloads, build, the process, and `more`. */
export function hostRegistry(reloader: Reloader, parser: string, more: readonly Family[]): Registry {
  const r = new Registry()
  for (const f of [...controlFamilies(reloader, parser), ...more, ...processFamilies()]) r.add(f)
  return r
}

export function controlFamilies(reloader: Reloader, parser: string): Family[] {
  return [
    collected('rawproxy_config_reloads_total', 'counter', 'Config reloads (SIGHUP or POST /reload), by result: ok, or failed (the last good config stayed).', ['result'], 'sum',
      () => [{ labels: ['ok'], value: reloader.ok }, { labels: ['failed'], value: reloader.failed }]),
    collected('rawproxy_config_last_reload_success_timestamp_seconds', 'gauge', 'When the config in force was loaded (start or last good reload), seconds since the epoch.', [], 'max',
      () => [{ labels: [], value: Math.floor(reloader.lastGood / 1000) }]),
    collected('rawproxy_build_info', 'gauge', 'Always 1; the labels say what runs: rawproxy\'s version, Node.js\'s, and the llhttp build.', ['version', 'node', 'parser'], 'max',
      () => [{ labels: [VERSION, process.version, parser], value: 1 }]),
  ]
}
