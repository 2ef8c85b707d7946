/**
 * Many requests over one keep-alive connection, pipelined (undici's Client): fast enough to send
 * thousands of requests per spec, and through the proxy still one exchange at a time.
 */
import { Client } from 'undici'

/** Sends `n` GETs to `/r<i>`; returns how many of each status came back. */
export async function send(url: string, n: number, headers: (i: number) => Record<string, string> = () => ({})): Promise<Map<number, number>> {
  const client = new Client(url, { pipelining: 32 })
  const seen = new Map<number, number>()
  try {
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < n) {
        const i = next++
        const r = await client.request({ path: `/r${i}`, method: 'GET', headers: headers(i) })
        await r.body.dump()
        seen.set(r.statusCode, (seen.get(r.statusCode) ?? 0) + 1)
      }
    }
    await Promise.all(Array.from({ length: 32 }, worker))
  } finally {
    await client.close()
  }
  return seen
}
