#!/usr/bin/env bash
# Runs a BOSH errand (by default the acceptance-tests errand) and fails when
# it fails. Task: ci/tasks/run-errand.yml.
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: DEPLOYMENT_NAME=NAME [ERRAND_NAME=acceptance-tests] run-errand.sh

Environment:
  DEPLOYMENT_NAME   deployment holding the errand
  ERRAND_NAME       errand job name (default acceptance-tests)
  INSTANCE          run it only on this instance, e.g. api/first (default: every instance with the job)
  KEEP_ALIVE        true: keep the errand VM (lifecycle: errand groups only)
  LOGS_DIR          download the errand's logs into this directory (e.g. the task output errand-logs)
  BOSH_ENVIRONMENT, BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT: the director
USAGE
}
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { usage; exit 0; }

need DEPLOYMENT_NAME
bosh_target
bosh="$(bosh_cli)"
flags=()
[[ -n "${INSTANCE:-}" ]] && flags+=(--instance "${INSTANCE}")
[[ "${KEEP_ALIVE:-false}" == true ]] && flags+=(--keep-alive)
if [[ -n "${LOGS_DIR:-}" ]]; then
  mkdir -p "${LOGS_DIR}"
  flags+=(--download-logs --logs-dir "${LOGS_DIR}")
fi
errand="${ERRAND_NAME:-acceptance-tests}"
log "bosh -d ${DEPLOYMENT_NAME} run-errand ${errand} ${flags[*]}"
"${bosh}" -d "${DEPLOYMENT_NAME}" run-errand "${errand}" "${flags[@]}"
