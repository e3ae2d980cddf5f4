#!/usr/bin/env bash
# Deploys manifests/diego.yml (or MANIFEST) with a list of ops-files and vars
# files, printing the difference between the deployed manifest and the new one
# first. Task: ci/tasks/bosh-deploy.yml.
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: DEPLOYMENT_NAME=NAME [OPS_FILES=...] [VARS_FILES=...] [VARS=...] bosh-deploy.sh

Environment (lists: whitespace/comma separated, or a JSON list):
  DEPLOYMENT_NAME     deployment to deploy; must equal the interpolated manifest's name
  MANIFEST            base manifest (default manifests/diego.yml)
  OPS_FILES           ops-files, applied in order (-o)
  VARS_FILES          vars files (-l)
  VARS                KEY=VALUE variables (-v)
  RELEASE_TARBALLS    release tarballs (globs, relative to the working
                      directory) uploaded before deploying, e.g. release/*.tgz
  DRY_RUN             true: bosh deploy --dry-run (renders, changes nothing)
  INTERPOLATE_ONLY    true: print the interpolated manifest and stop (no director)
  RECREATE            true: bosh deploy --recreate
  BOSH_ENVIRONMENT, BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT: the director
  REPO_DIR            the diego-go checkout (default: input `diego`, else this checkout)
Relative MANIFEST, OPS_FILES and VARS_FILES paths are relative to REPO_DIR.
USAGE
}
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { usage; exit 0; }

need DEPLOYMENT_NAME
bosh="$(bosh_cli)"
manifest="$(resolve "${MANIFEST:-manifests/diego.yml}")"
[[ -f "${manifest}" ]] || die "MANIFEST: no such file ${manifest}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
ops_and_vars_args > "${work}/args"
mapfile -t args < "${work}/args"
log "interpolating ${manifest} ${args[*]}"
"${bosh}" interpolate "${manifest}" "${args[@]}" > "${work}/new.yml"
name="$("${bosh}" interpolate "${work}/new.yml" --path /name)"
[[ "${name}" == "${DEPLOYMENT_NAME}" ]] ||
  die "the interpolated manifest deploys ${name}, not DEPLOYMENT_NAME=${DEPLOYMENT_NAME} (rename-network-and-deployment.yml sets the name)"

if [[ "${INTERPOLATE_ONLY:-false}" == true ]]; then
  cat "${work}/new.yml"
  exit 0
fi

bosh_target
shopt -s nullglob
while IFS= read -r glob; do
  # shellcheck disable=SC2206  # the glob is meant to expand
  matches=(${glob})
  [[ ${#matches[@]} -gt 0 ]] || die "RELEASE_TARBALLS: nothing matches ${glob}"
  for t in "${matches[@]}"; do
    log "uploading release ${t}"
    "${bosh}" upload-release "${t}"
  done
done < <(split_list "${RELEASE_TARBALLS:-}")
shopt -u nullglob

if "${bosh}" -d "${DEPLOYMENT_NAME}" manifest > "${work}/current.yml" 2>/dev/null; then
  log "changes to the deployed manifest of ${DEPLOYMENT_NAME} (before the director's variables):"
  diff -u --label "deployed ${DEPLOYMENT_NAME}" --label "new ${DEPLOYMENT_NAME}" \
    "${work}/current.yml" "${work}/new.yml" || true
else
  log "${DEPLOYMENT_NAME} is not deployed yet: the whole interpolated manifest is new"
  cat "${work}/new.yml"
fi

flags=()
[[ "${DRY_RUN:-false}" == true ]] && flags+=(--dry-run)
[[ "${RECREATE:-false}" == true ]] && flags+=(--recreate)
log "bosh -d ${DEPLOYMENT_NAME} deploy ${flags[*]}"
"${bosh}" -d "${DEPLOYMENT_NAME}" deploy "${work}/new.yml" "${flags[@]}"
