#!/usr/bin/env bash
# The README's performance table: every run of cuohe-bench it reports, each against a spawned
# engine, results in docs/bench/*.json, the chart in docs/bench/latency.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product cuohe --product cuohe-bench >/dev/null 2>&1 || swift build -c release
bench=.build/release/cuohe-bench
out=docs/bench
mkdir -p "$out"
for d in none sync; do
    for r in 20000 50000 100000; do
        "$bench" --spawn --durability "$d" --rate "$r" --json "$out/open-$r-$d.json" --hgrm "$out/open-$r-$d.hgrm" --label "$d $r/s" | tail -8
    done
    # The ramp before --max: the heaviest run's aftermath (its files' writeback) is not the ramp's.
    "$bench" --spawn --durability "$d" --ramp --json "$out/ramp-$d.json" --label "$d --ramp" | tail -12
    "$bench" --spawn --durability "$d" --max --json "$out/max-$d.json" --label "$d --max" | tail -8
    "$bench" --in-process --durability "$d" --json "$out/inprocess-$d.json" --label "in-process $d" | tail -6
done
"$bench" plot "$out/open-50000-none.json" "$out/open-50000-sync.json" --svg "$out/latency.svg"
