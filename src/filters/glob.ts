/**
 * Path globs of the `rules` filter: `*` any run within a segment, `**` any run across segments, `?`
 * one character but `/`. Matched by a set of positions in the pattern, one step per character of the
 * path: linear in the path, whatever the pattern. A regular expression would backtrack: `/**\/**.env`
 * made of `.*` runs cost an 8 KiB path 31 ms of event loop, and three `**` seconds (found in review).
 */

const STAR = -1 // `*`
const GLOBSTAR = -2 // `**`
const ONE = -3 // `?`

/** A matcher for `glob` (latin1 text, as paths are matched); `ignoreCase`: ASCII letters match either case. */
export function globMatcher(glob: string, ignoreCase = false): (path: string) => boolean {
  const toks: number[] = []
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]
    if (c === '*' && glob[i + 1] === '*') {
      // `**` then `*`s are one `**`.
      while (glob[i + 1] === '*') i++
      toks.push(GLOBSTAR)
    } else if (c === '*') toks.push(STAR)
    else if (c === '?') toks.push(ONE)
    else toks.push((ignoreCase ? c.toLowerCase() : c).charCodeAt(0))
  }
  const n = toks.length
  // The literal end after the last wildcard: most paths fail on it at once (`/**.env` and `/app.js`).
  let from = n
  while (from > 0 && toks[from - 1] >= 0) from--
  const tail = String.fromCharCode(...toks.slice(from))
  let cur = new Uint8Array(n + 1)
  let next = new Uint8Array(n + 1)
  /** Adds state i and every state a star can skip to from it. */
  const close = (set: Uint8Array, i: number): void => {
    while (i <= n && set[i] === 0) {
      set[i] = 1
      if (i < n && (toks[i] === STAR || toks[i] === GLOBSTAR)) i++
      else break
    }
  }
  return (path: string): boolean => {
    if (tail !== '' && !(ignoreCase ? path.toLowerCase() : path).endsWith(tail)) return false
    cur.fill(0)
    close(cur, 0)
    for (let k = 0; k < path.length; k++) {
      let c = path.charCodeAt(k)
      if (ignoreCase && c >= 0x41 && c <= 0x5a) c += 0x20
      next.fill(0)
      let any = false
      for (let i = 0; i < n; i++) {
        if (cur[i] === 0) continue
        const t = toks[i]
        if (t === GLOBSTAR || (t === STAR && c !== 0x2f)) { close(next, i); any = true } else if (t === c || (t === ONE && c !== 0x2f)) { close(next, i + 1); any = true }
      }
      if (!any) return false
      const swap = cur
      cur = next
      next = swap
    }
    return cur[n] === 1
  }
}
