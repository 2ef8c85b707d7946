import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { globMatcher } from '../../src/filters/glob.js'

const t = suite('filters/glob')

t('*, ** and ? as the docs say', () => {
  const m = globMatcher('/static/**.map')
  assert.ok(m('/static/app.js.map'))
  assert.ok(m('/static/js/deep/app.js.map'))
  assert.not.ok(m('/static/app.js'))
  assert.not.ok(m('/other/static/x.map'))
  const one = globMatcher('/img/*.png')
  assert.ok(one('/img/a.png'))
  assert.not.ok(one('/img/sub/a.png'), '* stays within a segment')
  const q = globMatcher('/v?/x')
  assert.ok(q('/v1/x'))
  assert.not.ok(q('/v12/x'))
  assert.not.ok(q('/v//x'), '? is no slash')
  const env = globMatcher('/**.env')
  assert.ok(env('/.env'))
  assert.ok(env('/a/b/.env'))
  assert.not.ok(env('/a/.envrc'))
  assert.ok(globMatcher('/**')('/anything/at/all'))
  assert.ok(globMatcher('/a/*')('/a/'), '* matches an empty run')
  assert.ok(globMatcher('/A/*', true)('/a/X'), 'ignore_case')
  assert.not.ok(globMatcher('/A/*')('/a/X'))
})

t('linear in the path: patterns that make a regex backtrack are answered by counting steps, not time', () => {
  // A path of 8 KiB that almost matches /**/**/**.env: the answer must come, and be right.
  const path = '/' + 'a/'.repeat(4000) + 'x.en'
  assert.not.ok(globMatcher('/**/**/**.env')(path))
  assert.ok(globMatcher('/**/**/**.env')(path + 'v'))
  assert.not.ok(globMatcher('/*a*a*a*a*a*b')('/' + 'a'.repeat(8000)))
})

t.run()
