/**
 * Method numbers as llhttp reports them (llhttp's METHODS table), and the properties of methods that
 * the proxy needs.
 */
export const DELETE = 0
export const GET = 1
export const HEAD = 2
export const POST = 3
export const PUT = 4
export const CONNECT = 5
export const OPTIONS = 6
export const TRACE = 7

/** RFC 9110 §9.2.2: methods whose intended effect is the same when repeated, so a retry is safe. */
export function isIdempotent(method: number): boolean {
  return method === GET || method === HEAD || method === OPTIONS || method === TRACE ||
    method === PUT || method === DELETE
}

/** RFC 9110 §9.2.1: methods that are read-only by definition; any other (an unknown one too) is unsafe. */
export function isSafe(method: number): boolean {
  return method === GET || method === HEAD || method === OPTIONS || method === TRACE
}

/** llhttp's number for PURGE (a cache's purge request, as Varnish and Squid take it). */
export const PURGE = 29
