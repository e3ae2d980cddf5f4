#!/usr/bin/env bash
# `make run`: starts a whole local Diego with `diego up` (SQLite, process
# backend, 3 cells, state in STATE_DIR so a re-run resumes it), runs the
# sample app with 3 instances, shows each answering over HTTP, and keeps
# the cluster running until Ctrl-C. Usage: run-local.sh BIN_DIR STATE_DIR
set -euo pipefail
bin=$1 state=$2
mkdir -p "$state"
state=$(cd "$state" && pwd)
target="$state/target.json"
rm -f "$target"

read -ra extra <<<"${DIEGO_UP_FLAGS:-}"   # e.g. DIEGO_UP_FLAGS="--cells 5 --backend runc"
"$bin/diego" up --dir "$state" "${extra[@]}" &
up=$!
trap 'kill -INT $up 2>/dev/null; wait $up' INT TERM
for _ in $(seq 1 600); do
  [ -s "$target" ] && break
  kill -0 $up 2>/dev/null || { echo "diego up exited; see $state/logs" >&2; exit 1; }
  sleep 0.1
done
[ -s "$target" ] || { echo "diego up did not become ready in 60 s; see $state/logs" >&2; kill -INT $up; exit 1; }
export DIEGO_TARGET=$target

echo
echo "==> diego run sample-app --instances 3 --port 8080"
if ! "$bin/diego" desired-lrp sample-app >/dev/null 2>&1; then
  "$bin/diego" run sample-app --instances 3 --port 8080 --timeout 60s -- "$bin/sample-app" >/dev/null
else
  echo "(already desired: resuming)"
fi
for _ in $(seq 1 100); do
  n=$("$bin/diego" actual-lrps --process-guid sample-app -o table | grep -c RUNNING || true)
  [ "$n" -ge 3 ] && break
  sleep 0.1
done
"$bin/diego" actual-lrps --process-guid sample-app -o table
echo
echo "==> each instance answering over HTTP"
"$bin/diego" actual-lrps --process-guid sample-app | while read -r line; do
  addr=$(printf '%s' "$line" | sed -E 's/.*"address":"([^"]*)".*"host_port":([0-9]+).*/\1:\2/')
  printf '  http://%s/  ->  %s\n' "$addr" "$(curl -fsS "http://$addr/" 2>&1 || true)"
done
echo
echo "Try: export DIEGO_TARGET=$target; $bin/diego cells -o table; $bin/diego logs sample-app"
echo "Ctrl-C stops the cluster; 'make run' again resumes it."
wait $up
