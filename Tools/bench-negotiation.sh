#!/usr/bin/env bash
# Builds the negotiated-transfer benchmark in release mode and runs it; extra arguments go to the
# benchmark (e.g. --waiting 16000 --small-waiting 100). Its last line is the machine-readable result.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product cuohe-negotiation-bench
exec .build/release/cuohe-negotiation-bench "$@"
