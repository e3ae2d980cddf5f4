#!/usr/bin/env bash
# `make run`: starts a whole local Diego with `diego up` (SQLite, process
# backend, 3 cells, NATS, file server, route emitter and SSH proxy, state in
# STATE_DIR so a re-run resumes it), runs the sample app with 3 instances,
# a route and SSH, shows each instance answering through the route emitter's
# table and an `ssh` session into one, and keeps the cluster running until
# Ctrl-C. Usage: run-local.sh BIN_DIR STATE_DIR
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
echo "==> diego run sample-app --instances 3 --port 8080 --route sample-app.diego.local --ssh"
if ! "$bin/diego" desired-lrp sample-app >/dev/null 2>&1; then
  "$bin/diego" run sample-app --instances 3 --port 8080 --route sample-app.diego.local --ssh --timeout 60s -- "$bin/sample-app" >/dev/null
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
echo "==> the route emitter's table (what it registers with the routers on NATS)"
for _ in $(seq 1 100); do
  n=$("$bin/diego" routes | grep -c '"route":"sample-app.diego.local"' || true)
  [ "$n" -ge 3 ] && break
  sleep 0.1
done
"$bin/diego" routes -o table
echo
echo "==> sample-app.diego.local through each registered backend, as a router sends it"
"$bin/diego" routes | grep '"route":"sample-app.diego.local"' | while read -r line; do
  addr=$(printf '%s' "$line" | sed -E 's/.*"host":"([^"]*)".*"port":([0-9]+).*/\1:\2/')
  printf '  Host: sample-app.diego.local -> http://%s/  ->  %s\n' "$addr" "$(curl -fsS -H 'Host: sample-app.diego.local' "http://$addr/" 2>&1 || true)"
done
echo
echo "==> diego ssh sample-app/0 -- 'echo ...' (through the SSH proxy into instance 0)"
# shellcheck disable=SC2016 # expanded in the instance
"$bin/diego" ssh sample-app/0 -- 'echo "  hello from $(hostname) as $(id -un), instance $CF_INSTANCE_INDEX at $CF_INSTANCE_ADDR"' || true
proxy=$(grep -o '"ssh_proxy_address": *"[^"]*"' "$target" | cut -d'"' -f4)
echo "    or with OpenSSH: ssh -p ${proxy##*:} diego:sample-app/0@${proxy%:*}  (password: ssh_proxy_diego_credentials in $target)"
echo
echo "Try: export DIEGO_TARGET=$target; $bin/diego cells -o table; $bin/diego logs sample-app; $bin/diego ssh sample-app/1"
hub=$(grep -o '"hub_url": *"[^"]*"' "$target" | cut -d'"' -f4 || true)
[ -n "$hub" ] && echo "Diego Hub (the web UI; the sample app is under Apps): $hub"
echo "Ctrl-C stops the cluster; 'make run' again resumes it."
wait $up
