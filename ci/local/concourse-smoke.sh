#!/usr/bin/env bash
# A local Concourse (concourse quickstart from the pin in tools/concourse, on
# the PostgreSQL of scripts/ensure-services.sh, houdini runtime) and what can
# be proven on it without container images and without a BOSH director:
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

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${CONCOURSE_DIR:-/tmp/diego-concourse}"
port="${PORT:-8181}"
fly="${repo}/bin/fly"
target=diego-local
log() { printf 'concourse-smoke: %s\n' "$*" >&2; }

if [[ "${1:-}" == stop ]]; then
  if [[ -f "${dir}/pid" ]] && kill -0 "$(cat "${dir}/pid")" 2>/dev/null; then
    kill -TERM "$(cat "${dir}/pid")"
    log "stopped concourse $(cat "${dir}/pid")"
    sleep 5
  fi
  # houdini leaves the builds' bind mounts under the work dir
  awk -v d="${dir}/worker/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount "${m}" || umount -l "${m}"; done
  exit 0
fi

mkdir -p "${dir}/worker" "${repo}/bin"
for b in fly concourse; do
  if [[ ! -x "${repo}/bin/${b}" || "${repo}/bin/${b}" -ot "${repo}/tools/concourse/go.sum" ]]; then
    log "building bin/${b} (minutes on a cold cache)"
    pkg=github.com/concourse/concourse/fly
    [[ "${b}" == concourse ]] && pkg=github.com/concourse/concourse/cmd/concourse
    (cd "${repo}/tools/concourse" && go build -o "${repo}/bin/${b}" "${pkg}")
  fi
done
[[ -x "${repo}/bin/bosh" ]] || bash "${repo}/scripts/build-bosh.sh"

if ! curl -fsS "http://127.0.0.1:${port}/api/v1/info" >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U postgres -Atc "select 1 from pg_database where datname='concourse_local'" | grep -q 1 ||
    psql -h 127.0.0.1 -U postgres -qc 'create database concourse_local'
  log "starting concourse quickstart on :${port} (log ${dir}/concourse.log)"
  setsid "${repo}/bin/concourse" quickstart \
    --postgres-host 127.0.0.1 --postgres-port 5432 --postgres-user postgres --postgres-database concourse_local \
    --add-local-user ci:ci-pass --main-team-local-user ci \
    --external-url "http://127.0.0.1:${port}" --bind-ip 127.0.0.1 --bind-port "${port}" --debug-bind-port $((port + 10000)) \
    --tsa-bind-port $((port + 4041)) --tsa-debug-bind-port $((port + 4040)) --worker-tsa-host "127.0.0.1:$((port + 4041))" \
    --worker-runtime houdini --worker-work-dir "${dir}/worker" --worker-baggageclaim-driver naive \
    --worker-bind-port $((port + 9596)) --worker-baggageclaim-bind-port $((port + 9607)) \
    --worker-baggageclaim-debug-bind-port $((port + 9606)) --worker-debug-bind-port $((port + 9595)) \
    --worker-healthcheck-bind-port $((port + 10707)) \
    --enable-pipeline-instances > "${dir}/concourse.log" 2>&1 &
  echo $! > "${dir}/pid"
fi
for _ in $(seq 1 60); do
  "${fly}" -t "${target}" login -c "http://127.0.0.1:${port}" -u ci -p ci-pass >/dev/null 2>&1 &&
    "${fly}" -t "${target}" workers 2>/dev/null | grep -q running && break
  sleep 2
done
"${fly}" -t "${target}" workers | grep -q running || { log "no running worker; see ${dir}/concourse.log"; exit 1; }
log "1. the pipelines are accepted by the server"
"${fly}" -t "${target}" set-pipeline -n -p deploy-diego -c "${repo}/pipelines/deploy-diego.yml" -l "${repo}/pipelines/vars/deploy-diego.yml" >/dev/null
"${fly}" -t "${target}" set-pipeline -n -p preview -i branch=feature-x -c "${repo}/pipelines/preview.yml" -l "${repo}/pipelines/vars/preview.yml" >/dev/null
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
