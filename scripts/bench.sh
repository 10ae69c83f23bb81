#!/usr/bin/env bash
# `make bench`: measurements written to docs/bench.md (see that file for how to read them).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr)."
  echo
  echo "Command: \`make bench\` (\`cargo run -p foghorn-e2e --bin bench_app\` on \`target/release/foghorn\`)."
  echo
  cargo run -q -p foghorn-e2e --bin bench_app --locked
} > "$out"
cat "$out"
python3 - "$out" <<'PY'
import re, sys
results = open(sys.argv[1]).read()
path = "docs/bench.md"
doc = open(path).read()
begin, end = "<!-- bench:app:begin -->", "<!-- bench:app:end -->"
doc = re.sub(re.escape(begin) + ".*?" + re.escape(end), begin + "\n" + results.strip() + "\n" + end, doc, flags=re.S)
open(path, "w").write(doc)
PY
