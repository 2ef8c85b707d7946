/**
 * A peer's counters for the metrics (src/admin/), kept apart from its health state: one object per
 * peer address, handed from a Peer to its successor on reload (Peer.adopt), so a counter never goes
 * back to zero while the peer stays in the config (Prometheus reads a drop as a restart). Each count
 * is one field increment where the event happens.
 */
import { Buckets } from '../admin/registry.js'

export class PeerStats {
  /** Sockets opened to the peer. */
  connects = 0
  /** Requests sent on a pooled keep-alive socket. */
  reuses = 0
  /** Connect failures, resets and closes before a response (passive health's signals). */
  failures = 0
  /** Passive-health ejections. */
  ejections = 0
  /** Further attempts sent to this peer after another one failed (Group.retry). */
  retries = 0
  /** Active health probes' durations, in seconds. */
  readonly probes = new Buckets()
}
