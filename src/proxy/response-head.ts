/**
 * The response head as the client will see it, rebuilt from the peer's spans. We send our own
 * version, HTTP/1.1 (RFC 9110 §2.5), drop hop-by-hop fields (RFC 9110 §7.6.1), and set the framing and
 * connection fields of this hop ourselves (RFC 9112 §6, §9.6).
 */
import { Head, NameSet, name } from '../http/head.js'
import { buildHead, connectionTokens } from '../http/serialize.js'
import { statusText } from '../http/status.js'
import type { HeadEdit } from './head-edit.js'
import type { StoredReply } from './reply.js'

const UPGRADE = name('upgrade')

const HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'upgrade']
const DROP = new NameSet(HOP)
/** When we change the framing (de-chunk for HTTP/1.0, re-chunk a close-delimited body). */
const DROP_FRAMING = new NameSet([...HOP, 'transfer-encoding'])
const DROP_FRAMING_ALL = new NameSet([...HOP, 'transfer-encoding', 'content-length'])

/** How the body travels to the client. */
export const enum Framing {
  /** No body (HEAD, 1xx, 204, 304). */
  NONE = 0,
  /** The peer's bytes as received: Content-Length, chunked, or until close (then we close too). */
  RAW = 1,
  /** Chunked from the peer, sent decoded to an HTTP/1.0 client, delimited by our close. */
  DECHUNK = 2,
  /** Close-delimited from the peer, chunked by us for a keep-alive HTTP/1.1 client. */
  RECHUNK = 3,
  /**
   * Decoded and changed by a filter's transform (proxy/transformed.ts), chunked: to every HTTP/1.1
   * client, even one whose connection closes after it, which can then tell a cut body from a whole one.
   */
  TRANSFORM = 4,
  /** The same to an HTTP/1.0 client, ended by our close (RFC 9112 §6.3 rule 8). */
  TRANSFORM_CLOSE = 5,
}

function isChunked(h: Head): boolean {
  return h.transferEncoding >= 0
}

/**
 * How the body of response `h` travels to a client of HTTP/1.`minor`; `closing`: the client
 * connection closes after this response anyway.
 */
export function framingFor(h: Head, untilClose: boolean, toHead: boolean, minor: number, closing: boolean): Framing {
  // RFC 9110 §9.3.2, §15.3.5, §15.4.5: no body after HEAD, 204 or 304.
  if (toHead || h.status === 204 || h.status === 304) return Framing.NONE
  // RFC 9112 §6.3 rules 4 and 8: read until close. A keep-alive HTTP/1.1 client gets it chunked,
  // unless it has a coding other than chunked, which re-chunking would drop: then our close ends it.
  if (untilClose) return minor >= 1 && !closing && !isChunked(h) ? Framing.RECHUNK : Framing.RAW
  // RFC 9112 §6.1: no chunked coding to an HTTP/1.0 client.
  if (minor === 0 && isChunked(h)) return Framing.DECHUNK
  return Framing.RAW
}

/**
 * `close`: we close the client connection after this response. `http10Alive`: an HTTP/1.0 client
 * that asked for keep-alive, which must be told it has it (RFC 9112 §9.3). `edit`: the response
 * filters' changes (headers, HSTS, the request ID).
 */
export function buildResponse(h: Head, framing: Framing, close: boolean, http10Alive: boolean, edit: HeadEdit | null = null): Buffer {
  const tokens = connectionTokens(h)
  let extra = close ? 'Connection: close\r\n' : http10Alive ? 'Connection: keep-alive\r\n' : ''
  if (framing === Framing.RECHUNK || framing === Framing.TRANSFORM) extra += 'Transfer-Encoding: chunked\r\n'
  // A transformed body has a new length, unknown in advance: the peer's Content-Length goes too.
  const drop = framing >= Framing.TRANSFORM ? DROP_FRAMING_ALL : framing === Framing.DECHUNK || framing === Framing.RECHUNK ? DROP_FRAMING : DROP
  return buildHead(h, statusPrefix(h.status), h.spans[0], h.spans[1], '\r\n', drop, tokens, extra, edit?.drops ?? null, edit?.lines ?? '')
}

/**
 * The head of a stored response (proxy/reply.ts StoredReply): its stored fields, ours (Age,
 * Cache-Status...), the framing of this hop, and the filters' edits. `chunked`: its length is not
 * known yet (or a transform changes it: `length` -1) and the client takes chunked.
 */
export function buildStored(r: StoredReply, close: boolean, http10Alive: boolean, chunked: boolean, edit: HeadEdit | null, length = r.length): Buffer {
  let extra = r.extra
  // RFC 9110 §15.4.5, §8.6: a 304 carries no Content-Length of its own, a 204 none at all.
  if (r.status !== 304 && r.status !== 204) {
    if (length >= 0) extra += `Content-Length: ${length}\r\n`
    else if (chunked) extra += 'Transfer-Encoding: chunked\r\n'
  }
  if (close) extra += 'Connection: close\r\n'
  else if (http10Alive) extra += 'Connection: keep-alive\r\n'
  const h = r.head
  // A 304 or 206 made from a stored 200 takes its own reason phrase.
  if (r.status !== h.status) return buildHead(h, `HTTP/1.1 ${r.status} ${statusText(r.status)}`, 0, 0, '\r\n', DROP, null, extra, edit?.drops ?? null, edit?.lines ?? '')
  return buildHead(h, statusPrefix(r.status), h.spans[0], h.spans[1], '\r\n', DROP, null, extra, edit?.drops ?? null, edit?.lines ?? '')
}

/** "HTTP/1.1 200 " as bytes, made once per status (a string built per response cost ~0.1 µs). */
const PREFIXES: Buffer[] = []
function statusPrefix(status: number): Buffer {
  return PREFIXES[status] ??= Buffer.from(`HTTP/1.1 ${status} `, 'latin1')
}

/** A 1xx interim response, passed on to an HTTP/1.1 client (RFC 9110 §15.2); it has no body, so no framing fields. */
export function buildInterim(h: Head): Buffer {
  return buildHead(h, `HTTP/1.1 ${h.status} `, h.spans[0], h.spans[1], '\r\n', DROP_FRAMING_ALL, null, '')
}

/** The 101 that opens a tunnel keeps Upgrade and a Connection naming it (RFC 9110 §7.8). */
export function buildSwitch(h: Head): Buffer {
  const upgrade = h.get(UPGRADE) ?? ''
  return buildHead(h, `HTTP/1.1 101 `, h.spans[0], h.spans[1], '\r\n', DROP, null,
    `Connection: upgrade\r\nUpgrade: ${upgrade}\r\n`)
}

const CRLF = Buffer.from('\r\n')
const LAST_CHUNK = Buffer.from('0\r\n\r\n')

/** RFC 9112 §7.1: a chunk is its size in hex, CRLF, the data, CRLF. */
export function chunkHeader(size: number): Buffer {
  return Buffer.from(size.toString(16) + '\r\n', 'latin1')
}

export { CRLF, LAST_CHUNK }

/** Writes `b` as one chunk (RFC 9112 §7.1): size, CRLF, data, CRLF, in one writev. False: the client is full. */
export function writeChunk(d: { cork(): void; uncork(): void; write(b: Buffer): boolean }, b: Buffer): boolean {
  d.cork()
  d.write(chunkHeader(b.length))
  d.write(b)
  const ok = d.write(CRLF)
  d.uncork()
  return ok
}

const HTTP11 = Buffer.from('HTTP/1.1 ', 'latin1')

/**
 * Where the response head starts in `chunk`, if it can go to the client as received: HTTP/1.1, all
 * of it in this chunk, no hop-by-hop field. Else -1 (the head is rebuilt, response-head.ts).
 */
export function rawStart(h: Head, chunk: Buffer, from: number): number {
  if (h.minor !== 1 || h.buf !== chunk) return -1
  // "HTTP/1.1 200 " is 13 bytes before the reason phrase (RFC 9112 §4).
  const start = h.spans[0] - 13
  if (start < from) return -1
  for (let i = 0; i < 9; i++) if (chunk[start + i] !== HTTP11[i]) return -1
  return !h.hop || keepAliveLine(h) >= 0 ? start : -1
}

const KEEP_ALIVE = name('keep-alive')

/**
 * The index of the response's `Connection: keep-alive` field when it is its one hop-by-hop field,
 * else -1. Most HTTP/1.1 servers (nginx among them) send it on every response; the head then goes out
 * as received less that one line (RFC 9110 §7.6.1), instead of rebuilt field by field (issue 15).
 */
export function keepAliveLine(h: Head): number {
  const i = h.connection
  if (h.hops !== 1 || i < 0) return -1
  const s = h.spans
  const b = h.buf
  let end = s[5 + 4 * i]
  const at = s[4 + 4 * i]
  while (end > at && (b[end - 1] === 0x20 || b[end - 1] === 0x09)) end--
  if (end - at !== KEEP_ALIVE.length) return -1
  for (let k = 0; k < KEEP_ALIVE.length; k++) if ((b[at + k] | 0x20) !== KEEP_ALIVE[k]) return -1
  return i
}
