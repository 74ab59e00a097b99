#!/usr/bin/env bash
# Builds the core benchmark in release mode and runs it; extra arguments go to the benchmark
# (e.g. --ops 1000000 --runs 5). Its last line is the machine-readable result.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product cuohe-core-bench
exec .build/release/cuohe-core-bench "$@"
