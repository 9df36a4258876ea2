#!/usr/bin/env bash
# The integration tier with busy loops running beside it (issue 28: the suite must pass on a loaded machine, 3 busy
# loops on 2 cores). Run after npm run build: `npm run test:under-load` does both.
#   LOAD_LOOPS=3 (default)   how many busy loops
#   LOAD_TIERS="integration" which tiers of build/scripts/run-tests.js to run under them
# The tests measure the load when they start (test/helpers/time-scale.ts) and stretch their time limits by it;
# TEST_TIME_SCALE, if set, is passed through. Only the loops this script started are stopped, by their pids.
set -euo pipefail
cd "$(dirname "$0")/.."
loops="${LOAD_LOOPS:-3}"
tiers="${LOAD_TIERS:-integration}"
pids=()
stop_loops() {
  if [ "${#pids[@]}" -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap stop_loops EXIT INT TERM
for _ in $(seq 1 "$loops"); do
  (while :; do :; done) &
  pids+=("$!")
done
echo "test-under-load: $loops busy loops (pids ${pids[*]}) beside the $tiers tier(s) on $(nproc) cores" >&2
start=$(date +%s)
status=0
# shellcheck disable=SC2086 # the tiers are words
node build/scripts/run-tests.js $tiers || status=$?
echo "test-under-load: exit $status after $(($(date +%s) - start)) s, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exit "$status"
