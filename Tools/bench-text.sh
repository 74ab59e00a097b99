#!/usr/bin/env bash
# Builds the text-edge benchmark in release mode and runs it; extra arguments go to the benchmark
# (e.g. --lines 100000, or --write DIR to write its market and lines for timing `cuohe replay`).
# Its last line is the machine-readable result.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product cuohe-text-bench
exec .build/release/cuohe-text-bench "$@"
