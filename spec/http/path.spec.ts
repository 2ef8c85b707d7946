import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { ambiguous, authorityLike, configPath, matchPath, percentDecode, plainPath, resolveDots } from '../../src/http/path.js'

const t = suite('http/path')

t('resolveDots: RFC 3986 §5.2.4 on the forwarded target, %2E read as a dot; null when there is nothing to do', () => {
  assert.is(resolveDots('/a/b'), null)
  assert.is(resolveDots('/a.b/c.d?x=/..'), null, 'dots inside segments and in the query are no dot-segments')
  assert.is(resolveDots('/a/b/c/./../../g'), '/a/g')
  assert.is(resolveDots('/internal/../x'), '/x')
  assert.is(resolveDots('/x/%2e%2E/internal?q=1'), '/internal?q=1')
  assert.is(resolveDots('/../../a'), '/a', 'never above the root')
  assert.is(resolveDots('/a/.'), '/a/')
  assert.is(resolveDots('/a/b/..'), '/a/')
  assert.is(resolveDots('/a//../b'), '/a/b', 'an empty segment is a segment (RFC 3986): only its own ".." takes it')
  assert.is(resolveDots('/internal/..%2fx'), null, '"..%2fx" is one segment, not a dot-segment')
})

t('matchPath: decoded, backslashes and path parameters read as peers read them, slashes merged, dot-segments gone', () => {
  assert.is(matchPath('/plain/path?q=1'), '/plain/path')
  assert.is(matchPath('/%69nternal'), '/internal')
  assert.is(matchPath('//internal//x'), '/internal/x')
  assert.is(matchPath('/internal;jsessionid=1/x'), '/internal/x', 'Tomcat cuts path parameters')
  assert.is(matchPath('/..;/internal'), '/internal', 'and reads "..;" as ".."')
  assert.is(matchPath('/public\\..\\internal'), '/internal', 'IIS reads "\\\\" as "/"')
  assert.is(matchPath('/public%5C..%5Cinternal'), '/internal')
  assert.is(matchPath('/internal/..%2Fx'), '/internal/../x', 'a decoded %2F does not climb out of its segment')
  assert.is(matchPath('/a/'), '/a/')
  assert.is(matchPath('/'), '/')
  assert.is(matchPath('/caf%C3%A9'), Buffer.from('/café').toString('latin1'), 'bytes as latin1 characters')
  assert.is(percentDecode('/a%zz%4'), '/a%zz%4', 'an invalid escape stays as it is')
})

t('configPath: a prefix written in the config takes the form request paths are matched in', () => {
  assert.is(configPath('/café'), matchPath('/caf%C3%A9'))
  assert.is(configPath('/caf%C3%A9'), matchPath('/caf%C3%A9'))
  assert.is(configPath('//api/'), '/api')
  assert.is(configPath('/a/../b'), '/b')
  assert.is(configPath('/'), '/')
})

t('ambiguous: a dot-segment under another reading (path parameters, backslashes, encoded slashes); alone they are fine', () => {
  for (const p of ['/public/..%2Fadmin', '/a%2f..%2fb?x', '/admin/..;/x', '/a/%2e%2e;x/b', '/a\\..\\b', '/a%5C.%5Cb']) assert.ok(ambiguous(p), p)
  for (const p of ['/api/v4/projects/group%2Fproject', '/a/b?next=%2F..%2F', '/plain', '/a;b=c/d', '/a\\b', '/..a;x']) assert.not.ok(ambiguous(p), p)
})

t('authorityLike: two slashes (or a slash and a backslash) at the start read as //host', () => {
  for (const p of ['//x', '//', '/\\x']) assert.ok(authorityLike(p), p)
  for (const p of ['/', '/x//y', '/x']) assert.not.ok(authorityLike(p), p)
})

t('plainPath: only a path with nothing to read twice skips the readings', () => {
  for (const p of ['/', '/a/b.c', '/a?x=%2e/..;\\//', '/v1.2/x']) assert.ok(plainPath(p), p)
  for (const p of ['/a%2e', '/a\\b', '/a;b', '//a', '/a/./b', '/.well-known', '/a/..']) assert.not.ok(plainPath(p), p)
  // What plainPath passes, the readings would not change.
  for (const p of ['/', '/a/b.c', '/v1.2/x']) { assert.is(matchPath(p), p); assert.is(resolveDots(p), null) }
})

t.run()
