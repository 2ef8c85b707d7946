/**
 * rawproxy's command line (cli.ts loads it once the early signals are held): parse arguments, load the
 * config, start it (launch.ts: the composition root, shared with the library in index.ts), and wire
 * the signals (src/signals.ts).
 */
import { parseArgs } from 'node:util'
import { loadFile, quick } from './config/load.js'
import { ConfigError } from './config/validate.js'
import type { Config } from './config/schema.js'
import { EventLog } from './log/events.js'
import { demoConfig, startDemoUpstreams, DEMO_HELP } from './demo.js'
import { handleSignals } from './signals.js'
import { launch, Launched } from './launch.js'
import { format } from './trace/print.js'
import type { TraceRecord } from './trace/record.js'

const USAGE = `usage:
  rawproxy --config FILE            start with a YAML config
  rawproxy --check --config FILE    validate the config and exit
  rawproxy --listen ADDR --upstream HOST:PORT [--upstream ...] [--workers N|auto]   quick mode
      [--tls-cert FILE --tls-key FILE ...]   quick mode over HTTPS (repeat the pair for SNI)
  rawproxy --demo                   two demo upstreams behind the proxy on 127.0.0.1:8080
  --trace                           with any of the above: trace every request, printed to stderr (docs/trace.md)
`

/** `--tls-cert` and `--tls-key` given in pairs, in order. */
function certPairs(certs: string[] = [], keys: string[] = []): { cert: string; key: string }[] {
  if (certs.length !== keys.length) throw new ConfigError('--tls-key', `${certs.length} --tls-cert but ${keys.length} --tls-key: give them in pairs`)
  return certs.map((cert, i) => ({ cert, key: keys[i] }))
}

/** `held`: stops holding the early signals (cli.ts) and gives those that came. Returns an exit code, or -1 to live on. */
export async function main(held: () => string[]): Promise<number> {
  let args
  try {
    args = parseArgs({
      options: {
        config: { type: 'string', short: 'c' },
        check: { type: 'boolean' },
        listen: { type: 'string', multiple: true },
        upstream: { type: 'string', multiple: true },
        workers: { type: 'string' },
        'tls-cert': { type: 'string', multiple: true },
        'tls-key': { type: 'string', multiple: true },
        demo: { type: 'boolean' },
        trace: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`)
    return 2
  }
  if (args.help) { process.stdout.write(USAGE); return 0 }

  const load = (): Config => {
    if (args.workers !== undefined && (args.config !== undefined || args.upstream === undefined)) throw new ConfigError('--workers', 'is for quick mode; a config file sets `workers:`')
    if (args.config !== undefined) return loadFile(args.config)
    if (args.demo) return demoConfig()
    if (args.upstream !== undefined) return quick(args.listen ?? ['127.0.0.1:8080'], args.upstream, certPairs(args['tls-cert'], args['tls-key']), args.workers)
    throw new ConfigError('arguments', 'give --config FILE, --upstream HOST:PORT or --demo')
  }

  let config: Config
  try {
    config = load()
  } catch (err) {
    process.stderr.write(`rawproxy: invalid config: ${(err as Error).message}\n`)
    return 1
  }
  if (args.check) { process.stdout.write('config ok\n'); return 0 }

  const events = new EventLog(config.event_log)
  if (args.demo) await startDemoUpstreams()
  // --trace: every request's trace record printed to stderr (colours when it is a terminal).
  const trace = args.trace === true ? (r: TraceRecord): void => { process.stderr.write(format(r, process.stderr.isTTY === true)) } : undefined
  let running: Launched
  try {
    running = await launch(config, events, args.config, trace)
  } catch {
    return 1 // logged by launch
  }
  if (args.demo) process.stdout.write(DEMO_HELP)
  const early = held()
  handleSignals(running, events, running.reloader)
  // A signal that came while starting is taken now, as if it came just after.
  for (const sig of early) process.kill(process.pid, sig)
  return -1
}
