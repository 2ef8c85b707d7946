/**
 * Spec support for config errors: a config must be refused with exactly this field path and reason.
 */
import * as assert from 'uvu/assert'
import { ConfigError } from '../../src/config/validate.js'

/** `load()` must throw a ConfigError whose message is `message` (or matches it). */
export function refusedBy(load: () => unknown, message: string | RegExp): void {
  try {
    load()
  } catch (err) {
    assert.instance(err, ConfigError)
    if (typeof message === 'string') assert.is((err as Error).message, message)
    else assert.match((err as Error).message, message)
    return
  }
  assert.unreachable(`accepted; expected: ${message}`)
}
