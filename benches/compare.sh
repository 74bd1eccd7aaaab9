#!/usr/bin/env bash
# compare.sh — agentops vs the OpenTelemetry Rust pipeline (../shared/bench/otel-anchor)
# on one otlp-sink, in one run: A B A B … (--pairs, at least 3), then per-key medians
# and the ratios project/anchor. Every run is checked: the sink's unique span count
# must equal the run's spans_sent.
#
# Usage: benches/compare.sh [--pairs N] [--pin] [workload flags passed to both…]
#   --pin: the sink on CPU 1 and each client on CPU 0 (taskset), so neither side
#   borrows the other's core: the per-core comparison.
#   --tls: the sink serves https with ../shared/bench/certs (EC P-256, loopback only);
#   both clients get the CA (--ca-cert): the path users run.
#   benches/compare.sh --events 400000 --threads 4 --queue-size 524288 --protocol json
#   benches/compare.sh --events 400000 --threads 4 --queue-size 524288 --protocol protobuf
# Environment: BASELINE_BIN (compare with this bench binary instead of the anchor),
# BASELINE_ARGS / PROJECT_ARGS (extra flags for one side only, e.g. metrics off vs on:
#   BASELINE_BIN=<the pipeline bench> BASELINE_ARGS="--metrics off" PROJECT_ARGS="--metrics on"),
# SINK_JSON_MODE (default fast, as run-anchor.sh), CARGO_TARGET_DIR for
# the shared tools (default /tmp/bench-target), RESULTS=file to keep the raw lines.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
shared=${SHARED_BENCH:-$repo/../shared/bench}
pairs=3
pin=0
tls=0
args=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --pin) pin=1; shift ;;
    --tls) tls=1; shift ;;
    --pairs) pairs=$2; shift 2 ;;
    --pairs=*) pairs=${1#--pairs=}; shift ;;
    *) args+=("$1"); shift ;;
  esac
done
(( pairs >= 3 )) || { echo "compare.sh: --pairs must be at least 3" >&2; exit 2; }

tools=${CARGO_TARGET_DIR:-/tmp/bench-target}
echo "building otlp-sink and otel-anchor ($tools)…" >&2
CARGO_TARGET_DIR=$tools cargo build --release --quiet --manifest-path "$shared/sink/Cargo.toml"
CARGO_TARGET_DIR=$tools cargo build --release --quiet --manifest-path "$shared/otel-anchor/Cargo.toml"
echo "building the agentops pipeline bench…" >&2
project=$(cd "$repo" && cargo bench --bench pipeline --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "pipeline" and m.get("executable"):
        print(m["executable"])')
[[ -x $project ]] || { echo "compare.sh: could not build benches/pipeline.rs" >&2; exit 1; }
# BASELINE_BIN: another build to compare with instead of the anchor (A/B of two commits).
anchor=${BASELINE_BIN:-$tools/release/otel-anchor}
sink_bin=$tools/release/otlp-sink

tmp=$(mktemp -d)
sink_pid=""
cleanup() {
  [[ -n $sink_pid ]] && { kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT
sink_cmd=("$sink_bin"); client_cmd=()
if (( pin )); then sink_cmd=(taskset -c 1 "$sink_bin"); client_cmd=(taskset -c 0); fi
sink_tls=(); client_tls=(); curl_tls=(); scheme=http
if (( tls )); then
  certs=$shared/certs
  sink_tls=(--tls-cert "$certs/server.pem" --tls-key "$certs/server.key")
  client_tls=(--ca-cert "$certs/ca.pem"); curl_tls=(--cacert "$certs/ca.pem"); scheme=https
fi
"${sink_cmd[@]}" --port 0 --exit-after 3600 --json-mode "${SINK_JSON_MODE:-fast}" "${sink_tls[@]}" >"$tmp/sink.out" 2>"$tmp/sink.err" &
sink_pid=$!
port=""
for _ in $(seq 1 100); do
  line=$(head -n1 "$tmp/sink.out" 2>/dev/null || true)
  [[ $line == "listening on 127.0.0.1:"* ]] && { port=${line##*:}; break; }
  sleep 0.05
done
[[ -n $port ]] || { echo "compare.sh: sink did not start" >&2; cat "$tmp/sink.err" >&2; exit 1; }
url=$scheme://127.0.0.1:$port

results=$tmp/results.jsonl
run() { # who binary [extra flags…]
  curl -sS "${curl_tls[@]}" -X POST "$url/reset" >/dev/null
  local before
  before=$(curl -sS "${curl_tls[@]}" --max-time 10 "$url/stats")  # cpu_ms is not reset: take the difference
  local out who=$1 bin=$2
  shift 2
  out=$("${client_cmd[@]}" "$bin" --endpoint "$url/v1/traces" "${client_tls[@]}" "${args[@]}" "$@" 2>"$tmp/$who.err") || {
    echo "compare.sh: $who failed" >&2; cat "$tmp/$who.err" >&2; exit 1; }
  local stats
  stats=$(curl -sS "${curl_tls[@]}" --max-time 10 "$url/stats")
  python3 - "$who" "$out" "$stats" "$before" >>"$results" <<'PY'
import json, sys
who, run, sink, before = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
ok = sink["unique_spans"] == run["spans_sent"]
run.update(who=who, sink_unique_spans=sink["unique_spans"], sink_duplicates=sink["duplicates"], check_ok=ok,
           sink_cpu_s=(sink["cpu_ms"] - before["cpu_ms"]) / 1000)
print(json.dumps(run))
status = "ok" if ok else "MISMATCH"
print(f"  {who:8} spans_sent={run['spans_sent']} sink_unique={sink['unique_spans']} dropped={run.get('spans_dropped')} "
      f"spans/s={run['spans_per_s']} p50={run['caller_p50_ns']}ns p99={run['caller_p99_ns']}ns rss={run['peak_rss_kb']}kB  check {status}",
      file=sys.stderr)
PY
}
for i in $(seq 1 "$pairs"); do
  echo "pair $i/$pairs" >&2
  # shellcheck disable=SC2086
  run anchor "$anchor" ${BASELINE_ARGS:-}
  # shellcheck disable=SC2086
  run agentops "$project" ${PROJECT_ARGS:-}
done
[[ -n ${RESULTS:-} ]] && cp "$results" "$RESULTS"

python3 - "$results" "${args[*]}" "$pin" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows:  # the anchor reports pipeline CPU, not per span
    if "pipeline_cpu_s" in r and "pipeline_ns_per_span" not in r:
        r["pipeline_ns_per_span"] = r["pipeline_cpu_s"] * 1e9 / max(r["spans_sent"], 1)
keys = ["caller_p50_ns", "caller_p99_ns", "caller_p999_ns", "caller_max_ns", "caller_mean_ns",
        "spans_per_s", "wall_s", "peak_rss_kb", "cpu_s", "producer_cpu_s", "pipeline_cpu_s", "pipeline_ns_per_span",
        "export_cpu_s", "send_cpu_s", "metrics_cpu_s",
        "sink_cpu_s", "spans_sent", "spans_dropped"]
med = {}
for who in ("anchor", "agentops"):
    rs = [r for r in rows if r["who"] == who]
    med[who] = {k: statistics.median(r[k] for r in rs) for k in keys if all(k in r for r in rs)}
pinned = " pinned: sink on CPU 1, clients on CPU 0;" if sys.argv[3] == "1" else ""
print(f"workload: {sys.argv[2]}  ({pinned} medians of {len(rows)//2} runs each, alternating)")
print()
print("| metric | otel-anchor | agentops | agentops / anchor |")
print("|---|---:|---:|---:|")
for k in keys:
    a, b = med["anchor"].get(k), med["agentops"].get(k)
    if a is None or b is None:
        continue
    ratio = f"{b / a:.2f}" if a else "—"
    fmt = (lambda v: f"{v:.3f}") if isinstance(a, float) and a < 100 else (lambda v: f"{v:,.0f}")
    print(f"| {k} | {fmt(a)} | {fmt(b)} | {ratio} |")
bad = [r for r in rows if not r["check_ok"]]
print()
print("span-count check (sink unique_spans == spans_sent):", "all runs ok" if not bad else f"{len(bad)} MISMATCH(ES)")
sys.exit(3 if bad else 0)
PY
