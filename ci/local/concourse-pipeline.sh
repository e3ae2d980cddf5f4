#!/usr/bin/env bash
# pipelines/deploy-diego.yml's create-release -> deploy-staging ->
# acceptance-staging path, then its rotate-staging-key job (keys in the
# manifest: two deploys by `diego rotate-encryption-key`) and the acceptance
# errand again, run by a local Concourse (ci/local/concourse.sh:
# quickstart, PostgreSQL, houdini, loopback) against the local deployment
# target: bosh-local (tools/cmd/bosh-local), which answers the tasks' bosh
# commands with deploy-local. Fails on any red build.
#
# What differs from a real Concourse (docs/pipelines.md): a houdini worker has
# no images and no resource types, so the pipeline is set in its local form
# (tools/concourse/localpipeline): the `diego` git resource becomes a task
# cloning this repository at HEAD, the `release-tarball` s3 resource a
# directory (CONCOURSE_DIR/bucket), task files are inlined without their
# image_resource and get PATH/HOME/Go caches/BOSH_CLI as params; without
# resources no job triggers the next, so this script triggers them in order.
# The task scripts, their params and the vars file
# (ci/vars/pipelines/deploy-diego-local.yml) are the pipeline's own.
#
# Usage: ci/local/concourse-pipeline.sh
# Environment: CONCOURSE_DIR (default /tmp/diego-concourse), PORT (8181),
# BOSH_LOCAL_DIR (bosh-local's state: releases, compiled packages,
# deployments; default ~/.cache/diego-bosh-local), BOSH_LOCAL_PACKAGES_DIR
# (compiled packages; default TestDeployLocal's cache when it exists, so
# what make test-deploy-local compiled is not compiled again), KEEP=true (leave the
# deployment and Concourse running). Needs root, Go, PostgreSQL, ruby, ip.
set -euo pipefail

# shellcheck source=ci/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
state="${BOSH_LOCAL_DIR:-${XDG_CACHE_HOME:-${HOME}/.cache}/diego-bosh-local}"
pipeline=deploy-diego-local
deployment=diego-local-staging
jobs=(create-release deploy-staging acceptance-staging rotate-staging-key)
# the builds, in order: after the key rotation (two deploys by diego
# rotate-encryption-key) the acceptance errand runs again
runs=(create-release deploy-staging acceptance-staging rotate-staging-key acceptance-staging)

[[ "$(id -u)" == 0 ]] || { log "needs root (houdini, deploy-local's namespaces)"; exit 1; }
sha="$(git -C "${repo}" rev-parse HEAD)"
if [[ -n "$(git -C "${repo}" status --porcelain --untracked-files=no)" ]]; then
  log "note: uncommitted changes are not in the pipeline's clone of ${sha:0:12}"
fi

bash "${repo}/ci/local/concourse.sh" start
[[ -x "${repo}/bin/bosh" ]] || bash "${repo}/ci/dev/build-bosh.sh"
log "building bin/bosh-local, bin/deploy-local"
(cd "${repo}/tools" && go build -o "${repo}/bin/bosh-local" ./cmd/bosh-local && go build -o "${repo}/bin/deploy-local" ./cmd/deploy-local)
mkdir -p "${dir}" "${dir}/home" "${state}"
rm -rf "${dir}/bucket"
# the tasks' HOME: build volumes belong to another uid than the tasks' root,
# which git refuses without this (a real worker's git resource runs as root
# in its own container)
git config --file "${dir}/home/.gitconfig" safe.directory '*'
export BOSH_ENVIRONMENT="local:${state}"

cleanup() {
  if [[ "${KEEP:-false}" == true ]]; then
    log "KEEP=true: ${deployment} and Concourse keep running (bin/bosh-local -e local:${state} -d ${deployment} delete-deployment; ci/local/concourse.sh stop)"
    return
  fi
  "${repo}/bin/bosh-local" -d "${deployment}" delete-deployment >/dev/null 2>&1 || true
  bash "${repo}/ci/local/concourse.sh" stop || true
}
trap cleanup EXIT

gobin="$(dirname "$(command -v go)")"
pkgs="${BOSH_LOCAL_PACKAGES_DIR:-}"
if [[ -z "${pkgs}" && -d "${XDG_CACHE_HOME:-${HOME}/.cache}/diego-deploy-local/packages" ]]; then
  pkgs="${XDG_CACHE_HOME:-${HOME}/.cache}/diego-deploy-local/packages"
fi
pkgs="${pkgs:-${state}/packages}"
log "deriving the local form of pipelines/deploy-diego.yml at ${sha:0:12}"
(cd "${repo}/tools/concourse" && go run ./cmd/local-pipeline -c "${repo}/pipelines/deploy-diego.yml" \
  -jobs "$(IFS=,; echo "${jobs[*]}")" -repo "${repo}" -git-uri "${repo}" -git-ref "${sha}" -bucket "${dir}/bucket" \
  -env "PATH=${gobin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" -env "HOME=${dir}/home" \
  -env "GOFLAGS=-buildvcs=false" -env "GOMODCACHE=$(go env GOMODCACHE)" -env "GOCACHE=$(go env GOCACHE)" \
  -env "BOSH_CLI=${repo}/bin/bosh-local" -env "BOSH_LOCAL_REAL_CLI=${repo}/bin/bosh" \
  -env "BOSH_LOCAL_PACKAGES_DIR=${pkgs}") > "${dir}/${pipeline}.yml"
# the credentials Concourse's credential manager would hold: the local target
# (the BBS admin certificate files are written once the deploy generated
# them; no Vault here: the new key label is not recorded anywhere else)
admin="${dir}/bbs-admin"
cat > "${dir}/credentials.yml" <<YAML
staging_bosh: {environment: "local:${state}", client: local, client_secret: unused, ca_cert: ""}
production_bosh: {environment: "local:${state}", client: local, client_secret: unused, ca_cert: ""}
staging_bbs_admin: {urls: "https://10.245.0.10:8889", certificate: "${admin}/cert.pem", private_key: "${admin}/key.pem", ca: "${admin}/ca.pem"}
production_bbs_admin: {urls: "https://10.245.0.10:8889", certificate: "${admin}/cert.pem", private_key: "${admin}/key.pem", ca: "${admin}/ca.pem"}
vault: {addr: "", role_id: "", secret_id: ""}
YAML
"${fly}" -t "${target}" set-pipeline -n -p "${pipeline}" -c "${dir}/${pipeline}.yml" \
  -l "${repo}/ci/vars/pipelines/deploy-diego-local.yml" -l "${dir}/credentials.yml" >/dev/null
"${fly}" -t "${target}" unpause-pipeline -p "${pipeline}" >/dev/null

# the diego CLI on the api instance (like bosh ssh api/0 -c ...)
diego() {
  "${repo}/bin/deploy-local" ssh api/0 --root "${state}/deployments/${deployment}/root" -- /var/vcap/jobs/diego-cli/bin/diego "$@"
}
canary=rotation-canary

start=$(date +%s)
for job in "${runs[@]}"; do
  t0=$(date +%s)
  log "${job}: triggered, watching (log ${dir}/${job}.log)"
  if ! "${fly}" -t "${target}" trigger-job -j "${pipeline}/${job}" -w > "${dir}/${job}.log" 2>&1; then
    tail -n 60 "${dir}/${job}.log" >&2
    log "${job}: the build is not green (full log ${dir}/${job}.log)"
    exit 1
  fi
  log "${job}: succeeded in $(( $(date +%s) - t0 ))s"
  if [[ "${job}" == deploy-staging ]]; then
    # what CredHub would serve: the deployment's diego_cli_client (diego-admin)
    mkdir -p "${admin}"
    ruby -ryaml -e 'v = YAML.load_file(ARGV[0])["diego_cli_client"] or abort("no diego_cli_client in #{ARGV[0]}")
      File.write(ARGV[1] + "/cert.pem", v["certificate"]); File.write(ARGV[1] + "/key.pem", v["private_key"]); File.write(ARGV[1] + "/ca.pem", v["ca"])' \
      "${state}/deployments/${deployment}/vars.yml" "${admin}"
  fi
  if [[ "${job}" == acceptance-staging && ! -f "${dir}/canary" ]]; then
    # records the rotation must re-encrypt and that must still read after it
    log "desiring ${canary} (3 instances) before the rotation"
    diego run "${canary}" -i 3 -- 'while true; do sleep 1; done' > "${dir}/canary.log" 2>&1 ||
      { cat "${dir}/canary.log" >&2; log "diego run ${canary} failed"; exit 1; }
    touch "${dir}/canary"
  fi
  cp "${dir}/${job}.log" "${dir}/${job}.$(date +%s).log"
done
rm -f "${dir}/canary"
# the serving BBS's own account (the command's rows_reencrypted counts only
# what it saw pending; the BBS re-encrypts as soon as it serves with the new
# active key): every counted row under the new key, the canary's desired LRP
# (written under the old key) among them
status="$(curl -fsS --cacert "${admin}/ca.pem" --cert "${admin}/cert.pem" --key "${admin}/key.pem" \
  https://10.245.0.10:8889/v1/admin/encryption/status)" || { log "BBS admin status: not reachable"; exit 1; }
label="$(grep -o '"active_label":"[^"]*"' "${dir}/rotate-staging-key.log" | tail -1 | cut -d'"' -f4)"
ruby -rjson -e 's = JSON.parse(ARGV[0]); l = ARGV[1]
  abort("BBS active key #{s["active_label"]}, the rotation said #{l}") unless s["active_label"] == l
  old = (s["counts"] || []).reject { |c| c["label"] == l || c["rows"].to_i == 0 }
  abort("rows still under old keys: #{old}") unless old.empty?
  n = (s["counts"] || []).sum { |c| c["rows"].to_i }
  d = (s["counts"] || []).select { |c| c["table"] == "desired_lrps" }.sum { |c| c["rows"].to_i }
  abort("no desired LRP row under #{l} (#{s})") unless d > 0
  warn "concourse-pipeline: BBS status: #{n} rows (#{d} desired LRPs), all under #{l}"' "${status}" "${label}"
for _ in $(seq 1 60); do
  running="$(diego actual-lrps -p "${canary}" | grep -c '"state":"RUNNING"' || true)"
  [[ "${running}" == 3 ]] && break
  sleep 1
done
diego desired-lrp "${canary}" | grep -q '"instances":3' || { log "${canary}: the desired LRP does not read back after the rotation"; exit 1; }
[[ "${running}" == 3 ]] || { log "${canary}: ${running} of 3 instances RUNNING after the rotation"; diego actual-lrps -p "${canary}" >&2; exit 1; }
log "${canary} reads back after the rotation, 3 instances RUNNING"
grep -q -- '--- PASS: TestAcceptance ' "${dir}/acceptance-staging.log" ||
  { log "acceptance-staging: no passing TestAcceptance in the build log"; exit 1; }
grep -q 'complete: every row is sealed with it' "${dir}/rotate-staging-key.log" ||
  { log "rotate-staging-key: no re-encryption in the build log"; exit 1; }
log "the pipeline's create-release -> deploy -> acceptance -> key rotation -> acceptance path is green in $(( $(date +%s) - start ))s"
