#!/usr/bin/env bash
# Runs the acceptance suite from source (go test ./src/acceptance): against
# the Diego an ACCEPTANCE_CONFIG file names, or, without one, against a
# `diego up` the suite starts itself. Task: ci/tasks/run-acceptance.yml.
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: [ACCEPTANCE_CONFIG=path.json] run-acceptance.sh

Environment:
  ACCEPTANCE_CONFIG   JSON config (docs/acceptance.md), relative to the working
                      directory; empty: the suite starts its own diego up
  ACCEPTANCE_BACKEND  diego up backend when no config: process (default) or runc (root)
  ACCEPTANCE_DB       diego up database when no config (default SQLite)
  TEST_RUN            only tests matching this regexp (go test -run)
  TIMEOUT             go test -timeout (default 30m)
  REPO_DIR            the diego-go checkout (default: input `diego`, else this checkout)
USAGE
}
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { usage; exit 0; }

if [[ -n "${ACCEPTANCE_CONFIG:-}" ]]; then
  [[ -f "${ACCEPTANCE_CONFIG}" ]] || die "ACCEPTANCE_CONFIG: no such file ${ACCEPTANCE_CONFIG}"
  ACCEPTANCE_CONFIG="$(cd "$(dirname "${ACCEPTANCE_CONFIG}")" && pwd)/$(basename "${ACCEPTANCE_CONFIG}")"
  export ACCEPTANCE_CONFIG
  log "against the Diego of ${ACCEPTANCE_CONFIG}"
else
  unset ACCEPTANCE_CONFIG
  log "against a diego up the suite starts (backend ${ACCEPTANCE_BACKEND:-process})"
fi
cd "$(repo_dir)"
command -v go >/dev/null 2>&1 || die "no go on PATH"
flags=(-count=1 -v -timeout "${TIMEOUT:-30m}")
[[ -n "${TEST_RUN:-}" ]] && flags+=(-run "${TEST_RUN}")
go test "${flags[@]}" ./src/acceptance
