#!/usr/bin/env bash
# Runs every fuzz target for SECONDS_PER_TARGET (default 60) each, on the stable
# toolchain (`--sanitizer none`), starting from the committed seed corpus.
# New inputs go to a scratch copy, so the committed corpus stays small.
# Needs cargo-fuzz: `cargo install cargo-fuzz --locked`.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${SECONDS_PER_TARGET:-60}
# A fixed libFuzzer seed, so that a run in CI can be repeated here.
seed=${FUZZ_SEED:-1}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cargo fuzz build --sanitizer none
for target in $(cargo fuzz list); do
  echo "=== fuzz $target (${seconds}s)"
  mkdir -p "$scratch/$target"
  cargo fuzz run --sanitizer none "$target" "$scratch/$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -seed="$seed" -print_final_stats=0
done
