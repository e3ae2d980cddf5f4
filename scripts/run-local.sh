#!/usr/bin/env bash
# Runs a local BBS on SQLite with generated mTLS certificates and a generated
# encryption key, all kept under the state directory so a re-run resumes the
# same data. Usage: run-local.sh BIN_DIR STATE_DIR
set -euo pipefail
bin=$1 state=$2
mkdir -p "$state"
state=$(cd "$state" && pwd)
"$bin/diego-certs" -dir "$state/certs" -host 127.0.0.1 -host localhost >/dev/null
if [ ! -s "$state/encryption-key" ]; then
  umask 077
  head -c 32 /dev/urandom | base64 > "$state/encryption-key"
fi
key=$(cat "$state/encryption-key")
cat > "$state/bbs.json" <<JSON
{
  "listen_address": "127.0.0.1:8889",
  "health_address": "127.0.0.1:8890",
  "locket_listen_address": "127.0.0.1:8891",
  "ca_file": "$state/certs/ca.crt",
  "server_cert_file": "$state/certs/server.crt",
  "server_key_file": "$state/certs/server.key",
  "database_driver": "sqlite",
  "database_connection_string": "$state/bbs.db",
  "encryption_keys": {"local": "$key"},
  "active_key_label": "local"
}
JSON
chmod 600 "$state/bbs.json"
cat <<INFO
BBS          https://127.0.0.1:8889   (mutual TLS)
health       http://127.0.0.1:8890/ping   (/leader, /metrics)
Locket       127.0.0.1:8891           (gRPC, mutual TLS; embedded in the BBS)
database     $state/bbs.db (SQLite)
client cert  $state/certs/client.crt / client.key, CA $state/certs/ca.crt
admin cert   $state/certs/admin.crt / admin.key
config       $state/bbs.json
Ctrl-C stops it; running again resumes the same data.
INFO
exec "$bin/bbs" -config "$state/bbs.json"
