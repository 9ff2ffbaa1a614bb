#!/usr/bin/env bash
# Throughput and latency with 50, 500 and 5,000 keep-alive connections.
#
#   examples/many_connections.sh [--rate N] [--duration S] [--counts "50 500 5000"] [--no-peers]
#
# Two loads per connection count, both with wrk on 127.0.0.1:
#   closed loop  plain wrk: every connection sends its next request as soon
#                as the last is answered. Shows the most the server does;
#                its latency is connections ÷ throughput (Little's law).
#   fixed rate   examples/fixed_rate.lua: the connections together offer
#                --rate requests per second (default 20,000), with random
#                waits between requests. Shows whether latency stays put as
#                the same load is spread over more connections.
# The p99 of each run is also given as a multiple of the 50-connection p99.
#
# The server runs on CPU 0 and wrk on CPU 1 (as in ../shared/bench). Peers
# (tiny_http, hyper) are measured in the same run when ../shared/bench/setup.sh
# has built them into $BENCH_TARGET (default /tmp/benchtarget).
# Needs wrk (apt-get install wrk) and `ulimit -n` above 11,000.
set -euo pipefail
cd "$(dirname "$0")/.."

rate=20000
duration=5
counts="50 500 5000"
peers=yes
while [ $# -gt 0 ]; do
    case "$1" in
        --rate) rate=$2; shift 2 ;;
        --duration) duration=$2; shift 2 ;;
        --counts) counts=$2; shift 2 ;;
        --no-peers) peers=no; shift ;;
        *) echo "unknown option: $1" >&2; exit 2 ;;
    esac
done

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
ulimit -n 20000 2>/dev/null || true
cargo build -q --release --example hello

pin_server=() pin_wrk=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    pin_server=(taskset -c 0) pin_wrk=(taskset -c 1)
fi

target=${BENCH_TARGET:-/tmp/benchtarget}
servers=("waitress-rs|19050|./target/release/examples/hello --port 19050 --connection-limit=10000")
if [ $peers = yes ]; then
    [ -x "$target/release/tinyhttp_hello" ] && servers+=("tiny_http|19051|$target/release/tinyhttp_hello 19051")
    [ -x "$target/release/hyper_hello" ] && servers+=("hyper|19052|$target/release/hyper_hello 19052")
fi

# One wrk run; prints "req/s p50_ms p99_ms errors".
measure() { # port connections rate(0 = closed loop) seconds
    local port=$1 connections=$2 offered=$3 seconds=$4 line
    line=$(RATE=$offered CONNECTIONS=$connections timeout $((seconds + 30)) \
        "${pin_wrk[@]}" wrk -t2 -c"$connections" -d"${seconds}s" --timeout 10s \
        -s examples/fixed_rate.lua "http://127.0.0.1:$port/" | grep '^RESULT') || { echo "- - - -"; return; }
    awk -v line="$line" 'BEGIN {
        n = split(line, parts, " ")
        for (i = 2; i <= n; i++) { split(parts[i], kv, "="); v[kv[1]] = kv[2] }
        printf "%.0f %.2f %.2f %d\n", v["requests"] / (v["duration_us"] / 1e6),
            v["p50_us"] / 1000, v["p99_us"] / 1000, v["errors"] }'
}

printf '| server | connections | load | req/s | p50 ms | p99 ms | p99 ÷ p99 at %s | errors |\n' "${counts%% *}"
printf '|---|---:|---|---:|---:|---:|---:|---:|\n'
for entry in "${servers[@]}"; do
    IFS='|' read -r label port command <<<"$entry"
    for mode in closed fixed; do
        offered=0 load="closed loop"
        [ $mode = fixed ] && offered=$rate load="$rate req/s offered"
        base=""
        for connections in $counts; do
            # A fresh server for every measurement, in its own process group.
            setsid "${pin_server[@]}" $command >/dev/null 2>&1 &
            server=$!
            for _ in $(seq 100); do
                (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
                sleep 0.1
            done
            measure "$port" "$connections" "$offered" 1 >/dev/null # warm-up
            read -r rps p50 p99 errors < <(measure "$port" "$connections" "$offered" "$duration")
            kill -TERM -- -"$server" 2>/dev/null || true
            wait "$server" 2>/dev/null || true
            [ -z "$base" ] && base=$p99
            ratio=$(awk -v a="$p99" -v b="$base" 'BEGIN { if (b + 0 > 0) printf "%.1f×", a / b; else print "-" }')
            printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' \
                "$label" "$connections" "$load" "$rps" "$p50" "$p99" "$ratio" "$errors"
        done
    done
done
