/**
 * A real browser for the dashboard's specs: Debian's Chromium (/usr/bin/chromium, installed by
 * .ci/run), driven by playwright-core, which never downloads a browser of its own. Each browser runs
 * headless with a temporary profile (playwright's own, removed on close), no network beyond what a
 * page asks of 127.0.0.1, and is stopped by its PID when the spec closes it. A machine without
 * Chromium makes the spec fail, never skip.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync']

export interface Tab {
  browser: Browser
  page: Page
  /** Console errors, failed requests and uncaught page errors seen so far. */
  errors: string[]
  /** The browser's main process (its renderers are its descendants). */
  pid: number | undefined
  close(): Promise<void>
}

/** A browser with one page of `width`×`height` (a phone: 390×844), its errors recorded. */
export async function openTab(width = 1280, height = 900, scheme: 'light' | 'dark' = 'light'): Promise<Tab> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`)
  const server = await chromium.launchServer({ executablePath: CHROMIUM, args: ARGS, headless: true })
  const pid = server.process().pid
  const browser = await chromium.connect(server.wsEndpoint())
  const context = await browser.newContext({ viewport: { width, height }, colorScheme: scheme, deviceScaleFactor: 1 })
  const page = await context.newPage()
  const errors: string[] = []
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`) })
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`))
  page.on('requestfailed', (r) => { if (!r.url().includes('/stream')) errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`) })
  return {
    browser, page, errors, pid,
    close: async () => {
      await browser.close().catch(() => {})
      await server.close().catch(() => {})
      if (pid !== undefined) { try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ } }
    },
  }
}
