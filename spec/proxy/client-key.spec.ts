// The key a client is counted under (rate limits, auth's admission and failures, connections per
// address): one key per IPv4 address however it is written, one per IPv6 /64.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { clientKey } from '../../src/proxy/client-ip.js'

const t = suite('proxy: clientKey')

t('an IPv4-mapped IPv6 address, in any spelling, is its IPv4 address', () => {
  for (const a of ['1.2.3.4', '::ffff:1.2.3.4', '::FFFF:1.2.3.4', '0:0:0:0:0:ffff:102:304']) assert.is(clientKey(a), '1.2.3.4', a)
})

t('IPv6 by its /64; text that is no address stays as it is', () => {
  assert.is(clientKey('2001:db8::1'), clientKey('2001:DB8:0:0:ffff::9'))
  assert.is.not(clientKey('2001:db8::1'), clientKey('2001:db8:0:1::1'))
  assert.is(clientKey('not:an:address'), 'not:an:address')
})

t.run()
