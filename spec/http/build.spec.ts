import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { build } from '../../src/http/llhttp.js'

const t = suite('llhttp build')
const probe = `import('${new URL('../../src/http/llhttp.js', import.meta.url).href}').then((m) => {
  const p = new m.Parser(1, { maxHead: 1024, maxTarget: 256 })
  const b = Buffer.from('GET /x HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n')
  process.stdout.write(m.build + ' ' + p.execute(b, 0) + ' ' + p.head.line())
})`

t('the SIMD build is used where the CPU has it', () => {
  assert.is(build, 'wasm-simd')
})

t('the plain build is the fallback, and parses the same', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', probe], { env: { ...process.env, RAWPROXY_NO_SIMD: '1' } }).toString()
  assert.is(out, 'wasm 2 /x') // Step.END: a bodiless GET ends with its head
})

t.run()
