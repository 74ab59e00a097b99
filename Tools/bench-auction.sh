#!/usr/bin/env bash
# Builds the call-auction benchmark in release mode and runs it; extra arguments go to the
# benchmark (e.g. --orders 100000 --band-percent 100). Its last line is the machine-readable result.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product cuohe-auction-bench
exec .build/release/cuohe-auction-bench "$@"
