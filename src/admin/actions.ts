/**
 * State-changing admin calls a feature adds (POST /NAME...): the seam for features that land later,
 * such as the cache's `POST /cache/purge` (a URL or a prefix). A feature registers its action once;
 * the router gives it the same checks as every POST (credentials, Origin) and the request's query.
 */
import type { AdminAnswer, AdminRequest } from './http.js'

export interface AdminAction {
  /** The path, e.g. "/cache/purge"; `{name}` segments are passed as params. */
  readonly path: string
  run(r: AdminRequest, params: readonly string[]): AdminAnswer | Promise<AdminAnswer>
}

const actions: AdminAction[] = []

/** Adds an action to every admin API started after this (call it at module load, from the feature). */
export function addAdminAction(a: AdminAction): void {
  if (actions.some((b) => b.path === a.path)) throw new Error(`admin action ${a.path} registered twice`)
  actions.push(a)
}

export function adminActions(): readonly AdminAction[] {
  return actions
}
