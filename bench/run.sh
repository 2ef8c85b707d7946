#!/usr/bin/env bash
# `make bench`: the micro benchmarks (tinybench), then the load comparison (wrk), and the table in
# bench/results/latest.md. `make bench` builds first; run directly, this script builds if needed.
#
#   bash bench/run.sh [all|micro|load|tls|auth-flood|dashboard|profile|peers|idle]
#   env: see bench/micro/run.ts and bench/load/run.ts (BENCH_ROUNDS, BENCH_SECONDS, ...);
#        BENCH_TIMEOUT (1800 s): the outer bound of one node run (load/run.ts has its own watchdog);
#        BENCH_LOCK (a file, or 1 for /tmp/rawproxy-bench.lock): hold that flock for the whole run,
#        so that benches of several people on one machine never overlap
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}

if [[ -n ${BENCH_LOCK:-} && -z ${BENCH_LOCK_HELD:-} ]]; then
  lock=$BENCH_LOCK
  [[ $lock == 1 ]] && lock=/tmp/rawproxy-bench.lock
  echo "bench: waiting for the lock $lock"
  BENCH_LOCK_HELD=1 exec flock "$lock" bash "$0" "$@"
fi

# wrk is the load generator; Debian packages it. taskset (util-linux) pins processes to CPUs.
if [[ $what != micro ]]; then
  if ! command -v wrk >/dev/null; then
    echo "bench: installing wrk"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine may have no package lists yet: update only when the install needs it.
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  fi
  command -v taskset >/dev/null || { echo "bench: taskset missing (apt-get install util-linux)" >&2; exit 1; }
fi
[[ -f dist/bench/load/run.js && -f dist/bench/load/tls.js && -f dist/bench/load/auth-flood.js && -f dist/bench/load/dashboard-ab.js && -f dist/src/cli.js ]] || npx tsc -p tsconfig.json

# The node runs go in the background so that this shell can pass Ctrl-C or a SIGTERM on to them
# (bench/load/run.ts then stops every process it started) and bound them with `timeout`.
child=
stop_child() { [[ -n $child ]] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 130; }
trap stop_child INT TERM

limit=${BENCH_TIMEOUT:-1800}
run() {
  timeout --kill-after=10 "$limit" "$@" & child=$!
  wait "$child"
  child=
}

mkdir -p bench/results/tmp # scratch, git-ignored
export BENCH_MICRO_MD=bench/results/tmp/micro.md
case $what in
  all)     rm -f "$BENCH_MICRO_MD"; run node dist/bench/micro/run.js; echo; run node dist/bench/micro/auth.js; echo; run node dist/bench/micro/metrics.js; echo
           run node --expose-gc dist/bench/micro/rate-limit-memory.js 100000; run node --expose-gc dist/bench/micro/rate-limit-memory.js 1000000 no-head; echo
           run node dist/bench/load/run.js load; echo; run node dist/bench/load/tls.js; echo; run node dist/bench/load/auth-flood.js ;;
  tls)     run node dist/bench/load/tls.js ;;
  auth-flood) run node dist/bench/load/auth-flood.js ;;
  dashboard) run node dist/bench/load/dashboard-ab.js ;;
  micro)   run node dist/bench/micro/run.js; echo; run node dist/bench/micro/auth.js; echo; run node dist/bench/micro/metrics.js; echo
           run node --expose-gc dist/bench/micro/rate-limit-memory.js 100000; run node --expose-gc dist/bench/micro/rate-limit-memory.js 1000000 no-head ;;
  load)    run node dist/bench/load/run.js load ;;
  profile) # A dir of our own, so that the file can be named at the end whatever run.js prints.
           export BENCH_PROFILE_DIR=${BENCH_PROFILE_DIR:-$(mktemp -d /tmp/rawproxy-prof-XXXXXX)}
           run node dist/bench/load/run.js profile
           bash bench/peers/profile-help.sh "$BENCH_PROFILE_DIR" ;;
  peers)   # nginx, HAProxy, Caddy, Varnish and wrk from Debian when missing; 1000 connections need the fds.
           bash bench/peers/install.sh
           ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
           [[ -f dist/bench/peers/run.js ]] || npx tsc -p tsconfig.json
           limit=${BENCH_TIMEOUT:-3600}
           run node dist/bench/peers/run.js ;;
  idle)    # 10,000 client sockets here and as many in the proxy: raise the open-file limit (root may).
           ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
           if ! command -v nginx >/dev/null && [[ ! -x /usr/sbin/nginx ]]; then
             echo "bench: installing nginx (for the idle comparison)"
             export DEBIAN_FRONTEND=noninteractive
             apt-get install -y -qq nginx-light >/dev/null 2>&1 || apt-get install -y -qq nginx >/dev/null 2>&1 ||
               { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; } || echo "bench: nginx not installed, rawproxy only"
           fi
           run node dist/bench/load/run.js idle ;;
  *) echo "usage: bash bench/run.sh [all|micro|load|tls|auth-flood|profile|peers|idle]" >&2; exit 2 ;;
esac
