#!/usr/bin/env bash
# Runs every benchmark in turn and rewrites docs/BENCHMARKS.md (each script its own section).
# About ten minutes on a 2-core machine (the first run also generates a year of report data, cached in
# bench/out/). Traffic goes to 127.0.0.1 only. Usage: bench/run_all.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || scripts/install.sh
py=.venv/bin/python
start=$SECONDS
$py bench/common.py            # the machine section
for bench in planning reports dispatch webhooks pages classification allocation import logbook surveys sip; do
  echo "==> bench/$bench.py $*"
  t=$SECONDS
  $py "bench/$bench.py" "$@"
  echo "    ($((SECONDS - t)) s)"
done
$py bench/common.py --summary  # every target in one table at the top
echo "==> all benchmarks in $((SECONDS - start)) s; figures in docs/BENCHMARKS.md"
