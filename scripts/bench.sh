#!/usr/bin/env bash
# `make bench`: measurements written to docs/bench.md (see that file for how to read them).
# Five parts, each rewriting its own marked section: the tray app (bench_app), the
# monitoring engine side by side with blackbox_exporter (bench_engine), status updates
# (bench_status), the customer letter side by side with a Python smtplib mail merge
# (bench_letter), and acknowledgement write-back side by side with amtool (bench_ack).
# BENCH_QUICK=1 runs a
# short engine bench (compressed intervals only, a smaller history) for trying changes out,
# and only prints: its numbers are not the ones docs/bench.md quotes.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=""
[ -n "${BENCH_QUICK:-}" ] && [ "${BENCH_QUICK}" != 0 ] && quick=1

# Xvfb, D-Bus and dunst for the app part; prometheus-blackbox-exporter for the engine part.
scripts/deps.sh bench

machine() {
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB, $(uname -sr); load average $(cut -d' ' -f1-3 /proc/loadavg) at the start."
}

# Replaces the text between <!-- bench:NAME:begin --> and <!-- bench:NAME:end --> with FILE.
rewrite_section() {
  if [ -n "$quick" ]; then
    echo "bench: BENCH_QUICK: docs/bench.md left as it is" >&2
    return
  fi
  python3 - "$1" "$2" <<'PY'
import re, sys
name, results = sys.argv[1], open(sys.argv[2]).read()
path = "docs/bench.md"
doc = open(path).read()
begin, end = f"<!-- bench:{name}:begin -->", f"<!-- bench:{name}:end -->"
if begin not in doc:
    sys.exit(f"{path} has no {begin} marker")
doc = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: begin + "\n" + results.strip() + "\n" + end, doc, flags=re.S)
open(path, "w").write(doc)
PY
}

out=$(mktemp)
trap 'rm -f "$out"' EXIT

{
  machine
  echo
  echo "Command: \`make bench\` (\`cargo run -p foghorn-e2e --bin bench_app\` on \`target/release/foghorn\`)."
  echo
  cargo run -q -p foghorn-e2e --bin bench_app --locked
} > "$out"
cat "$out"
rewrite_section app "$out"

command="make bench"
[ -n "$quick" ] && command="BENCH_QUICK=1 make bench"
cargo build -q --release -p foghorn-e2e --bin bench_engine --locked
{
  machine
  echo
  echo "Command: \`${command}\` (\`cargo build --release -p foghorn-e2e --bin bench_engine\`, then \`target/release/bench_engine\`)."
  echo
  target/release/bench_engine
} > "$out"
cat "$out"
rewrite_section engine "$out"

cargo build -q --release -p foghorn-e2e --bin bench_status --locked
{
  machine
  echo
  echo "Command: \`make bench\` (\`cargo build --release -p foghorn-e2e --bin bench_status\`, then \`target/release/bench_status\`)."
  echo
  target/release/bench_status 2>/dev/null
} > "$out"
cat "$out"
rewrite_section status "$out"

cargo build -q --release -p foghorn-e2e --bin bench_letter --locked
{
  machine
  echo
  echo "Command: \`make bench\` (\`cargo build --release -p foghorn-e2e --bin bench_letter\`, then \`target/release/bench_letter\` on \`target/release/foghorn\`)."
  echo
  target/release/bench_letter 2>/dev/null
} > "$out"
cat "$out"
rewrite_section letter "$out"

cargo build -q --release -p foghorn-e2e --bin bench_ack --locked
{
  machine
  echo
  echo "Command: \`make bench\` (\`cargo build --release -p foghorn-e2e --bin bench_ack\`, then \`target/release/bench_ack\` on \`target/release/foghorn\`)."
  echo
  target/release/bench_ack 2>/dev/null
} > "$out"
cat "$out"
rewrite_section ack "$out"
