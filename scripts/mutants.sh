#!/usr/bin/env bash
# Mutation testing of the pure core and the policy code: every mutant cargo-mutants
# makes of these files must fail a unit test (or be listed as equivalent in
# scripts/mutants-equivalent.txt with its reason). Too slow for every change (about
# 20 s per mutant on two cores), so not part of .ci/run. Usage:
#   scripts/mutants.sh                 # all the files below
#   scripts/mutants.sh src/verify      # only files under one path
# Results: mutants.out/ (caught.txt, missed.txt, unviable.txt, outcomes.json).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null || cargo install cargo-mutants --locked
files=(
    'src/verify/*.rs'
    src/deliver/retry.rs
    src/http/answer.rs
    src/target/split.rs
    'src/markdown/*.rs'
    src/mapping/condition.rs
    src/mapping/extract.rs
)
if [ $# -gt 0 ]; then
    filtered=()
    for f in "${files[@]}"; do
        for want in "$@"; do [[ $f == "$want"* ]] && filtered+=("$f"); done
    done
    files=("${filtered[@]}")
fi
args=()
for f in "${files[@]}"; do args+=(-f "$f"); done
# Unit tests only: these files are pure, and their tests beside them are the ones that
# must hold them; the gateway suite would add a minute per mutant.
# Survivors that are equivalent (no test could tell them apart), one regex per line
# with its reason after "  # ".
while IFS= read -r line; do
    regex=${line%%  #*}
    [ -n "$regex" ] && args+=(--exclude-re "$regex")
done < <(grep -v '^#' scripts/mutants-equivalent.txt || true)
cargo mutants --profile mutants "${args[@]}" -- --lib || true
for outcome in caught missed unviable timeout; do
    printf '%-9s %s\n' "$outcome" "$(wc -l < "mutants.out/$outcome.txt" 2>/dev/null || echo 0)"
done
