#!/bin/sh
# npm test's first step: the lint and the build side by side (neither needs the other's output), so their
# wall time is the longer of the two rather than the sum; then the test tiers given as arguments.
set -u
npm run --silent lint &
lint=$!
if ! npm run --silent build; then
  kill "$lint" 2>/dev/null
  exit 1
fi
wait "$lint" || exit 1
exec node build/scripts/run-tests.js "$@"
