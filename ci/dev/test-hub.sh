#!/usr/bin/env bash
# `make test-hub` / `make bench-hub`: Diego Hub's browser tests (docs/hub.md).
# test: starts the Vault stand-in (so a key rotation can run, as production's
# BBS reads its keys from Vault), `diego up` on it with the hub and a paced
# re-encryption (2 rows a batch, 1.5 s apart: a rotation of the test's rows
# lasts several of the hub's 5 s polls, so the page shows it part way), then runs the
# Playwright tests in src/hub/ui/test against Debian's headless Chromium
# (/usr/bin/chromium). Screenshots go to docs/hub/.
# bench: `diego bench scale` with HUB_BENCH_INSTANCES (10,000) simulated
# instances on 50 cells, bin/hub on its BBS, and the first-paint figures.
# Everything it started is stopped on exit, failure or Ctrl-C.
# Usage: test-hub.sh BIN_DIR [test|bench]
set -euo pipefail
bin=$(cd "$1" && pwd)
mode=${2:-test}
root=$(cd "$(dirname "$0")/../.." && pwd)
ui="$root/src/hub/ui"
GO=${GO:-go}
log() { printf 'test-hub: %s\n' "$*" >&2; }

[ -x /usr/bin/chromium ] || { log "no /usr/bin/chromium: run 'make services' (as root) or apt-get install chromium"; exit 1; }
[ -f "$ui/dist/index.html" ] || { log "the UI is not built: run 'make hub-ui'"; exit 1; }
[ -d "$ui/node_modules/playwright-core" ] || { log "no node_modules: run 'make hub-ui'"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/diego-hub-test.XXXXXX")
vault_pid='' up_pid='' hub_pid='' bench_pid='' tests_pid=''
cleanup() {
  status=$?
  if [ -n "$tests_pid" ]; then kill -TERM "$tests_pid" 2>/dev/null || true; wait "$tests_pid" 2>/dev/null || true; fi
  for p in $hub_pid $up_pid $bench_pid; do kill -INT "$p" 2>/dev/null || true; done
  for p in $hub_pid $up_pid $bench_pid; do
    for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ -n "$vault_pid" ]; then kill "$vault_pid" 2>/dev/null || true; fi
  # a cell the test killed left its instances' processes to the cluster's stop; any
  # process still running from this run's directory goes too
  pids=$(pgrep -f -- "$work/" || true)
  # shellcheck disable=SC2086 # a list of pids
  if [ -n "$pids" ]; then kill -KILL $pids 2>/dev/null || true; fi
  if [ $status -ne 0 ]; then
    log "FAILED; logs kept in $work (diego up: $work/up.log, components: $work/d/logs)"
  else
    rm -rf "$work"
  fi
  exit $status
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
json() { node -e 'const f=require(process.argv[1]);const v=process.argv[2].split(".").reduce((o,k)=>o==null?o:o[k],f);console.log(v==null?"":v)' "$1" "$2"; }
wait_file() { # file, seconds, pid
  for _ in $(seq 1 $(($2 * 10))); do
    [ -s "$1" ] && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# hub_config FILE BBS_URL LOCKET_ADDRESS CERTS_DIR [TARGET]: a hub config; the admin
# certificate reads the BBS's encryption status too
hub_config() {
  node -e '
    const [file, bbs, locket, certs, target, port] = process.argv.slice(1);
    const t = target ? require(target) : {}; const d = target ? require("path").dirname(target) : "";
    const abs = (p) => p && (require("path").isAbsolute(p) ? p : require("path").join(d, p));
    const cells = {}; for (const c of t.cells || []) cells[c.cell_id] = c.local_url;
    require("fs").writeFileSync(file, JSON.stringify({ listen_address: "127.0.0.1:" + port,
      bbs: { url: bbs, ca_cert: certs + "/ca.crt", client_cert: certs + "/admin.crt", client_key: certs + "/admin.key" },
      locket_address: locket, auctioneer_url: t.auctioneer_url || "", cell_local_urls: cells,
      log_dir: abs(t.log_dir) || "", audit_log: require("path").dirname(file) + "/hub-audit.log" }, null, 1));' "$@"
}

if [ "$mode" = bench ]; then
  n=${HUB_BENCH_INSTANCES:-10000}
  log "diego bench scale: $n instances on 50 simulated cells"
  "$bin/diego" bench scale --preset quick --instances "$n" --cells 50 --steady 30m --dir "$work/bs" >"$work/bench.log" 2>&1 &
  bench_pid=$!
  wait_file "$work/bs/config/bbs.json" 120 $bench_pid || { log "diego bench scale did not start: $(tail -n 20 "$work/bench.log")"; exit 1; }
  for _ in $(seq 1 600); do grep -q '"listen_address"' "$work/bs/config/bbs.json" 2>/dev/null && break; sleep 0.1; done
  bbs_addr=$(json "$work/bs/config/bbs.json" listen_address)
  locket_addr=$(json "$work/bs/config/bbs.json" locket_address)
  port=$(free_port)
  hub_config "$work/hub.json" "https://$bbs_addr" "$locket_addr" "$work/bs/certs" "" "$port"
  "$bin/hub" -config "$work/hub.json" >"$work/hub.log" 2>&1 &
  hub_pid=$!
  HUB_URL="http://127.0.0.1:$port"
else
  log "building the Vault stand-in"
  (cd "$root" && $GO build -o "$work/standin" ./src/internal/vaulttest/standin)
  "$work/standin" -listen 127.0.0.1:0 -info "$work/vault.json" >"$work/vault.log" 2>&1 &
  vault_pid=$!
  wait_file "$work/vault.json" 30 $vault_pid || { log "the Vault stand-in did not start: $(cat "$work/vault.log")"; exit 1; }
  VAULT_ADDR=$(json "$work/vault.json" url)
  VAULT_TOKEN=$(json "$work/vault.json" root_token)
  export VAULT_ADDR VAULT_TOKEN

  port_base=${HUB_TEST_PORT_BASE:-9600}
  pacing=(--reencrypt-batch-size 2 --reencrypt-batch-pause 1.5s)
  log "diego up --dir $work/d --port-base $port_base --vault-addr $VAULT_ADDR ${pacing[*]}"
  "$bin/diego" up --dir "$work/d" --port-base "$port_base" --vault-addr "$VAULT_ADDR" --vault-token "$VAULT_TOKEN" "${pacing[@]}" >"$work/up.log" 2>&1 &
  up_pid=$!
  target="$work/d/target.json"
  wait_file "$target" 120 $up_pid || { log "diego up did not become ready: $(tail -n 20 "$work/up.log")"; exit 1; }
  export DIEGO_TARGET=$target DIEGO_BIN=$bin DIEGO_DIR="$work/d"

  HUB_URL=$(json "$target" hub_url)
  if [ -z "$HUB_URL" ]; then
    # diego up without the hub (--no-hub, or a build before it had one): run bin/hub on the target
    port=$(free_port)
    hub_config "$work/hub.json" "$(json "$target" bbs_url)" "$(json "$target" locket_address)" "$work/d/certs" "$target" "$port"
    "$bin/hub" -config "$work/hub.json" >"$work/hub.log" 2>&1 &
    hub_pid=$!
    HUB_URL="http://127.0.0.1:$port"
  fi
fi
export HUB_URL
for _ in $(seq 1 300); do curl -fsS "$HUB_URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$HUB_URL/healthz" >/dev/null || { log "the hub at $HUB_URL does not answer /healthz"; exit 1; }
log "the hub is at $HUB_URL"

cd "$ui"
# in the background and waited for, so that a signal runs the cleanup at once
if [ "$mode" = bench ]; then
  node test/bench-first-paint.mjs &
else
  HUB_SHOTS="$root/docs/hub" node --test --test-concurrency=1 --test-timeout=600000 test/hub.test.mjs &
fi
tests_pid=$!
wait "$tests_pid"
