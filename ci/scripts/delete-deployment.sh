#!/usr/bin/env bash
# Deletes a deployment (a feature branch's preview environment); succeeds when
# it does not exist. Task: ci/tasks/delete-deployment.yml.
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: DEPLOYMENT_NAME=NAME [FORCE=false] delete-deployment.sh

Environment:
  DEPLOYMENT_NAME   deployment to delete
  FORCE             true: bosh delete-deployment --force (ignore errors of drain/stop scripts)
  PROTECTED         deployments this task refuses to delete (default: the production name diego)
  BOSH_ENVIRONMENT, BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT: the director
USAGE
}
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { usage; exit 0; }

need DEPLOYMENT_NAME
while IFS= read -r p; do
  [[ "${DEPLOYMENT_NAME}" != "${p}" ]] || die "${DEPLOYMENT_NAME} is protected (PROTECTED=${PROTECTED-diego})"
done < <(split_list "${PROTECTED-diego}")
bosh_target
bosh="$(bosh_cli)"
flags=()
[[ "${FORCE:-false}" == true ]] && flags+=(--force)
if ! "${bosh}" -d "${DEPLOYMENT_NAME}" manifest >/dev/null 2>&1; then
  log "${DEPLOYMENT_NAME} is not deployed: nothing to delete"
  exit 0
fi
log "bosh -d ${DEPLOYMENT_NAME} delete-deployment ${flags[*]}"
"${bosh}" -d "${DEPLOYMENT_NAME}" delete-deployment "${flags[@]}"
