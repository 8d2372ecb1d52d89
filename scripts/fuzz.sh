#!/usr/bin/env bash
# Runs each fuzz target for a while (nightly Rust and cargo-fuzz, installed if
# missing; the product's build stays on stable). Seeds come from fixtures/ and
# mappings/. Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]
# A failure leaves its input in fuzz/artifacts/TARGET/ and this script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(ingress loaders markdown)
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

# A seed per fixture: for ingress a header choice byte then the payload; for the
# loaders every shipped mapping and config; for markdown the payloads' text.
seed() {
    local dir=fuzz/corpus/$1
    mkdir -p "$dir"
    case $1 in
        ingress) for f in fixtures/*/*.json; do { printf '\000'; cat "$f"; } >"$dir/$(basename "$f")"; done ;;
        loaders) cp mappings/*.yaml config.yaml "$dir/" ;;
        markdown) for f in fixtures/*/*.json; do head -c 4096 "$f" >"$dir/$(basename "$f")"; done ;;
    esac
}

for target in "${targets[@]}"; do
    seed "$target"
    printf '\n== %s for %ss\n' "$target" "$seconds"
    cargo +nightly fuzz run -O "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 2>&1 |
        grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==[0-9]+==|SUMMARY|thread .* panicked)" || true
    [ -z "$(ls -A "fuzz/artifacts/$target" 2>/dev/null)" ] ||
        { echo "scripts/fuzz.sh: $target found a failing input in fuzz/artifacts/$target" >&2; exit 1; }
done
