#!/usr/bin/env bash
# Runs bbs-bench against our BBS on SQLite and on PostgreSQL, each on a fresh
# database, and prints the figures. Usage: bench.sh BIN_DIR full|quick [sqlite|postgres|mysql...]
set -euo pipefail
bin=$1 scale=$2; shift 2
dbs=("$@"); [ ${#dbs[@]} -gt 0 ] || dbs=(sqlite postgres)
case $scale in
  full)  desired=100000 claims=20000 ;;
  quick) desired=5000 claims=2000 ;;
  *) echo "scale must be full or quick" >&2; exit 2 ;;
esac
work=$(mktemp -d /tmp/bbs-bench.XXXXXX)
out=${BENCH_OUT:-$PWD/out/bench}
mkdir -p "$out"
"$bin/diego-certs" -dir "$work/certs" -host 127.0.0.1 >/dev/null
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

for db in "${dbs[@]}"; do
  name="bbs_bench_$$"
  case $db in
    sqlite)   dsn="$work/bbs.db"; rm -f "$work"/bbs.db* ;;
    postgres) psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $name" -c "CREATE DATABASE $name"
              dsn="postgres://postgres@127.0.0.1:5432/$name?sslmode=disable" ;;
    mysql)    mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $name; CREATE DATABASE $name"
              dsn="root@tcp(127.0.0.1:3306)/$name" ;;
  esac
  cat > "$work/bbs.json" <<JSON
{"listen_address":"127.0.0.1:18889","health_address":"127.0.0.1:18890",
 "ca_file":"$work/certs/ca.crt","server_cert_file":"$work/certs/server.crt","server_key_file":"$work/certs/server.key",
 "database_driver":"$db","database_connection_string":"$dsn",
 "encryption_keys":{"bench":"bench-passphrase"},"active_key_label":"bench","log_level":"error"}
JSON
  "$bin/bbs" -config "$work/bbs.json" 2>"$work/bbs-$db.log" &
  pid=$!
  for _ in $(seq 1 100); do curl -sf http://127.0.0.1:18890/ping >/dev/null && break; sleep 0.1; done
  "$bin/bbs-bench" -bbs-url https://127.0.0.1:18889 -ca "$work/certs/ca.crt" -cert "$work/certs/client.crt" -key "$work/certs/client.key" \
    -desired "$desired" -list-repeats "${LIST_REPEATS:-5}" -settle "${SETTLE:-5s}" -claim-starts "$claims" -server-pid "$pid" -label "$db-$scale" -out "$out/$db-$scale.json"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  case $db in
    postgres) psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $name" ;;
    mysql)    mysql -h 127.0.0.1 -uroot -e "DROP DATABASE IF EXISTS $name" ;;
  esac
done
rm -rf "$work"
