#!/usr/bin/env bash
# On the local Concourse of ci/local/concourse.sh, what can be proven without
# container images and without a BOSH director (ci/local/concourse-pipeline.sh
# runs the pipeline itself against the local deployment target):
#   1. both pipelines are accepted by the server (fly set-pipeline; the
#      preview one as an instanced pipeline);
#   2. a trivial pipeline job runs to success;
#   3. fly execute runs the real ci/scripts/bosh-deploy.sh (INTERPOLATE_ONLY,
#      the preview ops-files) and, with RUN_ACCEPTANCE=true, run-acceptance.sh
#      (the acceptance suite against its own diego up), from copies of the task
#      files without image_resource (a houdini worker has no registry-image).
# Usage: ci/local/concourse-smoke.sh [stop]   (stop: the server, and houdini's
# leftover bind mounts under CONCOURSE_DIR/worker; rm -rf CONCOURSE_DIR after)
# Environment: CONCOURSE_DIR (state, default /tmp/diego-concourse), PORT (web,
# default 8181), RUN_ACCEPTANCE (default false). Needs root (houdini), Go,
# PostgreSQL on 127.0.0.1:5432 (trust), bin/bosh (make bosh).
set -euo pipefail

# shellcheck source=ci/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ "${1:-}" == stop ]]; then
  exec bash "${repo}/ci/local/concourse.sh" stop
fi

bash "${repo}/ci/local/concourse.sh" start
[[ -x "${repo}/bin/bosh" ]] || bash "${repo}/ci/dev/build-bosh.sh"
log "1. the pipelines are accepted by the server"
"${fly}" -t "${target}" set-pipeline -n -p deploy-diego -c "${repo}/pipelines/deploy-diego.yml" -l "${repo}/ci/vars/pipelines/deploy-diego.yml" >/dev/null
"${fly}" -t "${target}" set-pipeline -n -p preview -i branch=feature-x -c "${repo}/pipelines/preview.yml" -l "${repo}/ci/vars/pipelines/preview.yml" >/dev/null
"${fly}" -t "${target}" pipelines

log "2. a trivial pipeline job"
cat > "${dir}/trivial.yml" <<'YAML'
jobs:
- name: hello
  plan:
  - task: hello
    config:
      platform: linux
      run: {path: sh, args: [-c, 'echo hello from $(hostname)']}
YAML
"${fly}" -t "${target}" set-pipeline -n -p trivial -c "${dir}/trivial.yml" >/dev/null
"${fly}" -t "${target}" unpause-pipeline -p trivial >/dev/null
"${fly}" -t "${target}" trigger-job -j trivial/hello -w

log "3. the real task scripts through fly execute (the committed tree as the diego input)"
rm -rf "${dir}/src" && mkdir -p "${dir}/src/bin"
git -C "${repo}" archive HEAD | tar -x -C "${dir}/src"
cp "${repo}/bin/bosh" "${dir}/src/bin/"
noimage() { awk '/^image_resource:/{skip=1; next} skip && /^[^ #]/{skip=0} !skip' "$1"; }
noimage "${repo}/ci/tasks/bosh-deploy.yml" > "${dir}/bosh-deploy.yml"
DEPLOYMENT_NAME=diego-preview-demo INTERPOLATE_ONLY=true BOSH_CLI=diego/bin/bosh \
  OPS_FILES="ops-files/rename-network-and-deployment.yml ops-files/scale-to-one-az.yml ci/ops-files/add-acceptance-tests-errand.yml" \
  VARS_FILES="manifests/example-vars-files/vars-diego.yml ci/vars/preview.yml ci/vars/acceptance-one-az.yml" \
  VARS="deployment_name=diego-preview-demo" \
  "${fly}" -t "${target}" execute -c "${dir}/bosh-deploy.yml" -i diego="${dir}/src" > "${dir}/bosh-deploy.log" 2>&1
grep -q '^name: diego-preview-demo' "${dir}/bosh-deploy.log" || { log "bosh-deploy: see ${dir}/bosh-deploy.log"; exit 1; }
log "bosh-deploy.sh succeeded in Concourse (${dir}/bosh-deploy.log)"
if [[ "${RUN_ACCEPTANCE:-false}" == true ]]; then
  # houdini gives tasks no PATH or HOME: the local copy of the task declares them.
  noimage "${repo}/ci/tasks/run-acceptance.yml" |
    sed "s#^params:#params:\n  PATH: $(dirname "$(command -v go)"):/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n  HOME: ${dir}/home\n  GOFLAGS: -buildvcs=false#" > "${dir}/run-acceptance.yml"
  mkdir -p "${dir}/home"
  "${fly}" -t "${target}" execute -c "${dir}/run-acceptance.yml" -i diego="${dir}/src" > "${dir}/run-acceptance.log" 2>&1 ||
    { log "run-acceptance: see ${dir}/run-acceptance.log"; exit 1; }
  log "run-acceptance.sh succeeded in Concourse (${dir}/run-acceptance.log)"
fi
log "done; stop with: $0 stop"
