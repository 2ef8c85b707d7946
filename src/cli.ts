#!/usr/bin/env node
/**
 * The `rawproxy` command. Its first act, before the proxy's modules are loaded, is to hold SIGHUP and
 * SIGTERM (signals.ts): a `systemctl reload` just after `start` must not end the process by the
 * signal's default action. The command itself is command.ts.
 */
import { holdSignals } from './signals.js'

const held = holdSignals()
const { main } = await import('./command.js')
main(held).then((code) => { if (code >= 0) { held(); process.exitCode = code } }, (err) => {
  process.stderr.write(`rawproxy: ${(err as Error).stack}\n`)
  process.exitCode = 1
})
