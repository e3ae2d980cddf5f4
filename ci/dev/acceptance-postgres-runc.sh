#!/usr/bin/env bash
# The acceptance suite's second run in `make test`: `diego up` on PostgreSQL
# with the runc backend (the first run, on SQLite with the process backend,
# is part of `go test ./...`). A fresh database each run, dropped after.
set -euo pipefail
db="acceptance_$(date +%s)_$$"
psql -h 127.0.0.1 -U postgres -qc "create database $db" >/dev/null
trap 'psql -h 127.0.0.1 -U postgres -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true' EXIT
ACCEPTANCE_DB="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" \
ACCEPTANCE_BACKEND=runc \
ACCEPTANCE_PORT_BASE="${ACCEPTANCE_PORT_BASE:-20889}" \
  ${GO:-go} test -count=1 -timeout 20m ./src/acceptance
