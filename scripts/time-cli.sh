#!/usr/bin/env bash
# Start-up time of the mpi command: median wall time of N runs of each invocation (bare node as a baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
time_it() {
  for _ in $(seq "$runs"); do
    s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N)
    echo $(( (e - s) / 1000000 ))
  done | median
}
printf '%-40s %6s ms\n' "node -e 0 (baseline)" "$(time_it node -e 0)"
for args in "--help" "--version" "keys --help" "link --help" "import --help" "keys list --url http://127.0.0.1:9/graphql"; do
  # shellcheck disable=SC2086
  printf '%-40s %6s ms\n' "mpi $args" "$(time_it node cli/mpi.js $args)"
done
