/**
 * Responses rawproxy writes itself, through one builder: a filter's refusal or answer (401, 403, 405,
 * 413, 431, a rule's redirect or response), a 404 for requests no route matches, a fault's status
 * (400, 408, 502, 503, 504...), and the interim 100 Continue. The body is a short text.
 */
import { httpDate, statusText } from '../http/status.js'
import type { HeadEdit } from './head-edit.js'
import type { Head } from '../http/head.js'
import type { Content } from './content.js'

/** A local answer, as a filter returns it (an expected outcome, never a thrown error). */
export class Reply {
  constructor(
    readonly status: number,
    /** Fields of this answer, CRLF-ended lines: `WWW-Authenticate: ...\r\n`, `Allow`, `Location`. */
    readonly fields = '',
    /** The body, sent as text/plain in UTF-8; null: "<status> <reason>\n". */
    readonly body: string | null = null,
    /**
     * The access log's termination cause: `PR` refused by a filter (403, 405, 413, 431), `PA`
     * authentication required (401) or not checkable now (503), `LR` answered by a rule (a redirect,
     * a fixed response), `PL` refused by a rate limit (429, or its `status`), `--` otherwise.
     */
    readonly cause = '--',
  ) {}
}

/**
 * A stored response served as the answer (a cache hit, a 304 from a stored entry, a 206 of part of
 * it): the head as stored, with our own fields, and its content or a part of it.
 */
export class StoredReply extends Reply {
  constructor(
    status: number,
    /** The stored fields (framing and hop-by-hop fields are never among them). */
    readonly head: Head,
    /** CRLF-ended lines of ours: Age, Cache-Status, Content-Range. */
    readonly extra: string,
    /** The body, or null for none (a 304; the answer to HEAD sends none either way). */
    readonly content: Content | null,
    /** Content-Length to announce: bytes from `start` to `start + length`; -1: not known yet (chunked, or our close). */
    readonly length: number,
    readonly start = 0,
  ) {
    super(status)
  }
}

/** Names of the fields we write, for a filter's `remove` (framing fields are never removable). */
const DATE = 'date'
const CONTENT_TYPE = 'content-type'

/**
 * A complete local response, ready to write. `close` adds `Connection: close` (RFC 9112 §9.6);
 * `headOnly`: the answer to HEAD, which has the head of the GET answer and no body (RFC 9110 §9.3.2);
 * `edit`: the response filters' changes.
 */
export function reply(status: number, close: boolean, headOnly = false, fields = '', body: string | null = null, edit: HeadEdit | null = null): Buffer {
  // RFC 9110 §15.3.5, §15.3.6, §15.4.5: no content in a 204, 205 or 304; a 204 or 304 has no
  // Content-Length either, a 205 says Content-Length: 0 (its framing must still end the message).
  const empty = status === 204 || status === 205 || status === 304
  const content = empty ? Buffer.alloc(0) : Buffer.from(body ?? `${status} ${statusText(status)}`.trimEnd() + '\n', 'utf8')
  let own = ''
  if (edit === null || !edit.dropsName(DATE)) own += `Date: ${httpDate()}\r\n`
  if (!empty && (edit === null || !edit.dropsName(CONTENT_TYPE))) own += 'Content-Type: text/plain; charset=utf-8\r\n'
  if (!empty || status === 205) own += `Content-Length: ${content.length}\r\n`
  if (close) own += 'Connection: close\r\n'
  if (edit !== null && fields !== '' && edit.drops.length > 0) fields = kept(fields, edit)
  const head = Buffer.from(`HTTP/1.1 ${status} ${statusText(status)}\r\n${own}${fields}${edit?.lines ?? ''}\r\n`, 'latin1')
  return headOnly || content.length === 0 ? head : Buffer.concat([head, content])
}

/** The lines of `fields` a filter did not remove. */
function kept(fields: string, edit: HeadEdit): string {
  return fields.split('\r\n').filter((l) => l !== '' && !edit.dropsName(l.slice(0, l.indexOf(':')).toLowerCase())).map((l) => `${l}\r\n`).join('')
}

/** RFC 9110 §10.1.1: the interim response that tells the client to send its body. */
export const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1')
