/**
 * `make fuzz`: the fuzz campaign (bench/fuzz/campaign.ts) with its settings from the environment;
 * prints the seed first and the report last, writes every kept failure to
 * bench/results/tmp/fuzz-failures.json, and exits 1 on any crash, hang or failure.
 *
 *   SEED (random, printed)  COUNT (1000000 inputs)  CAP (2400 s)  REQUEST_SHARE (0.7)
 *   REQUEST_SLOTS (48)  RESPONSE_SLOTS (24)  DEADLINE (10000 ms)  ONLY (request:INDEX | response:INDEX)
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, runFuzz } from './campaign.js'
import { ROOT, envNumber } from '../load/guard.js'
import { stopAll } from '../load/procs.js'
import { machine } from '../soak/sample.js'

// `make fuzz` passes every setting, empty when not given: empty is unset.
for (const k of ['SEED', 'COUNT', 'CAP', 'ONLY', 'REQUEST_SHARE', 'REQUEST_SLOTS', 'RESPONSE_SLOTS', 'DEADLINE']) if (process.env[k] === '') delete process.env[k]
const seed = process.env.SEED !== undefined && process.env.SEED !== '' ? Number(process.env.SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0
console.log(`fuzz: seed ${seed} (replay: make fuzz SEED=${seed} COUNT=...)`)
const stopping = (): void => { void stopAll().then(() => process.exit(130)) }
process.on('SIGINT', stopping)
process.on('SIGTERM', stopping)

const report = await runFuzz({
  seed,
  count: envNumber('COUNT', 1_000_000),
  requestShare: Number(process.env.REQUEST_SHARE ?? 0.7),
  capMs: envNumber('CAP', 2400) * 1000,
  requestSlots: envNumber('REQUEST_SLOTS', 48),
  responseSlots: envNumber('RESPONSE_SLOTS', 24),
  deadlineMs: envNumber('DEADLINE', 10_000),
  only: process.env.ONLY || undefined,
  progress: (l) => console.log(l),
})
console.log(describe(report))
const dir = join(ROOT, 'bench/results/tmp')
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, 'fuzz-latest.md'), `# make fuzz, ${new Date().toISOString()}\n\n${machine()}\n\n\`\`\`\n${describe(report)}\n\`\`\`\n`)
writeFileSync(join(dir, 'fuzz-failures.json'), JSON.stringify({ seed, failures: report.failures, crashes: report.crashes }, null, 1))
const bad = report.crashes.length + report.requests.failures + report.responses.failures
process.exit(bad === 0 ? 0 : 1)
