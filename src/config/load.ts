/**
 * Reading a config: from a YAML file, or built from the quick-mode command line.
 */
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { Config } from './schema.js'
import { ConfigError, validate } from './validate.js'

/** Reads and validates a YAML file. Throws ConfigError (field path and reason) or a read error. */
export function loadFile(file: string): Config {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError(file, `cannot read: ${(err as Error).message}`)
  }
  return loadText(text, file)
}

export function loadText(text: string, name = 'config'): Config {
  let raw: unknown
  try {
    raw = parse(text)
  } catch (err) {
    throw new ConfigError(name, `invalid YAML: ${(err as Error).message.split('\n')[0]}`)
  }
  return validate(raw)
}

/**
 * Quick mode, as `caddy reverse-proxy`: one listener, every request to these peers. With certificates
 * (`--tls-cert`/`--tls-key` pairs, in order) every listener serves HTTPS, the first pair the default.
 * `workers` is the `--workers` flag as typed ("auto" or a count); validated like the config key.
 */
export function quick(listen: string[], upstreams: string[], certificates: { cert: string; key: string }[] = [], workers?: string): Config {
  return validate({
    listen: certificates.length === 0 ? listen : listen.map((address) => ({ address, tls: { certificates } })),
    upstreams: { default: { peers: upstreams } },
    routes: [{ upstream: 'default' }],
    workers: workers === undefined || workers === 'auto' ? workers : Number(workers),
  })
}
