/**
 * `make soak`: the soak (bench/soak/soak.ts) for DURATION seconds (600), sampling every SAMPLE
 * seconds (5), a reload every RELOAD seconds (30), a peer killed and restarted every PEER_EVERY
 * seconds (45); prints the table as it goes and the verdict; writes bench/results/tmp/soak-latest.md;
 * exits 1 when a figure grew, a client got an unexpected error, or the proxy crashed.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ROOT, envNumber } from '../load/guard.js'
import { stopAll } from '../load/procs.js'
import { describeSoak, passed, runSoak } from './soak.js'
import { HEADER, machine, row } from './sample.js'

// `make soak` passes DURATION empty when not given: empty is unset.
for (const k of ['DURATION', 'SAMPLE', 'RELOAD', 'PEER_EVERY', 'SCALE']) if (process.env[k] === '') delete process.env[k]
const stopping = (): void => { void stopAll().then(() => process.exit(130)) }
process.on('SIGINT', stopping)
process.on('SIGTERM', stopping)

const r = await runSoak({
  durationMs: envNumber('DURATION', 600) * 1000,
  sampleEvery: envNumber('SAMPLE', 5) * 1000,
  reloadEvery: envNumber('RELOAD', 30) * 1000,
  peerEvery: envNumber('PEER_EVERY', 45) * 1000,
  scale: envNumber('SCALE', 1),
  progress: (l) => console.log(l),
})
const text = describeSoak(r)
console.log(text)
const dir = join(ROOT, 'bench/results/tmp')
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, 'soak-latest.md'), `# make soak, ${new Date().toISOString()}\n\n${machine()}\n\n${HEADER}\n${r.samples.map(row).join('\n')}\n\n${text}\n`)
process.exit(passed(r) ? 0 : 1)
