#!/usr/bin/env bash
# Rotates the BBS encryption key of a deployment with `diego
# rotate-encryption-key` (docs/key-rotation.md), the one implementation behind
# the CLI command, the BOSH errand and this task:
#   KEY_SOURCE=manifest (default): keys in the manifest. The command plans
#     and runs two deploys (the new key, then the new key active), verifies
#     each through the BBS admin API and follows the re-encryption; a run
#     killed part-way resumes when run again. Then, with VAULT_ADDR and
#     VAULT_KEY_PATH set, the new label is recorded in Vault (KV v2, field
#     `value`) where Concourse's credential manager serves it to later builds.
#   KEY_SOURCE=vault: the BBSs read their key ring from Vault; the command
#     rotates it there (no deploy).
# Task: ci/tasks/rotate-key.yml.
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: DEPLOYMENT_NAME=NAME BBS_ADMIN_URLS=... [NEW_KEY_LABEL=key-...] rotate-key.sh

Environment (lists: whitespace/comma separated, or a JSON list):
  DEPLOYMENT_NAME, MANIFEST, OPS_FILES, VARS_FILES, VARS: the deployment's
                     usual deploy configuration (see bosh-deploy.sh)
  DRY_RUN            true: print the plan (the two bosh deploys) and stop
  INTERPOLATE_ONLY   true: print the manifest of the second deploy (with the
                     release's add-/set-key ops-files) and stop (no director, no BBS)
  NEW_KEY_LABEL      label of the new key (default key-<UTC time>-<random>)
  KEY_SOURCE         manifest (default) or vault
  BBS_ADMIN_URLS     every BBS's API URL (https://IP:8889)
  BBS_ADMIN_CERT, BBS_ADMIN_KEY, BBS_ADMIN_CA_CERT: the admin client
                     certificate (common name in diego.bbs.admin_common_names,
                     e.g. the diego_cli_client variable), its key and the CA of
                     the BBS server certificate: PEM, or a path to one
  VAULT_BBS_ADMIN_PATH  with VAULT_ADDR: a KV v2 secret (fields urls,
                     certificate, private_key, ca) filling those of the four
                     above that are empty (default: VAULT_KEY_PATH with its
                     _active_key_label suffix replaced by _admin)
  OPS_DIR            where the command writes the new key's ops-file and the
                     old keys' removal (default: the task output `rotation`
                     when present, else a temporary directory)
  DIEGO_CLI          the diego CLI (default bin/diego of the checkout, built
                     with go build when missing)
  VAULT_ADDR         the Vault of Concourse's credentials: record the new label
                     (manifest mode), read VAULT_BBS_ADMIN_PATH; with
                     KEY_SOURCE=vault, the Vault holding the BBS key ring
  VAULT_ROLE_ID, VAULT_SECRET_ID   AppRole login (or VAULT_TOKEN)
  VAULT_KV_MOUNT     KV v2 mount of VAULT_KEY_PATH and VAULT_BBS_ADMIN_PATH (default concourse)
  VAULT_KEY_PATH     where to record the label (e.g. main/deploy-diego/bbs_active_key_label)
  VAULT_KEY_RING_MOUNT, VAULT_KEY_RING_PATH  KEY_SOURCE=vault: the key ring
                     secret (default secret, diego/bbs/encryption)
  VAULT_CACERT       CA certificate (PEM file) of Vault's TLS certificate
  BOSH_ENVIRONMENT, BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT: the director
  REPO_DIR           the diego-go checkout (default: input `diego`, else this checkout)
USAGE
}
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { usage; exit 0; }

key_source="${KEY_SOURCE:-manifest}"
[[ "${key_source}" == manifest || "${key_source}" == vault ]] || die "KEY_SOURCE ${key_source}: manifest or vault"
repo="$(repo_dir)"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

if [[ "${key_source}" == manifest ]]; then
  need DEPLOYMENT_NAME
  bosh="$(bosh_cli)"
  manifest="$(resolve "${MANIFEST:-manifests/diego.yml}")"
  [[ -f "${manifest}" ]] || die "MANIFEST: no such file ${manifest}"
  ops_and_vars_args > "${work}/args"
  mapfile -t base_args < "${work}/args"

  if [[ "${INTERPOLATE_ONLY:-false}" == true ]]; then
    # The rotation's ops-files apply to this deployment's configuration. (The
    # command adds the key with an ops-file of its own, shaped as
    # add-bbs-encryption-key.yml but with a per-key passphrase variable.)
    label=key-interpolate
    log "interpolating ${manifest} ${base_args[*]} with the rotation's ops-files"
    "${bosh}" interpolate "${manifest}" "${base_args[@]}" \
      -o "${repo}/ops-files/add-bbs-encryption-key.yml" -o "${repo}/ops-files/set-bbs-active-key.yml" \
      -v diego_bbs_new_key_label="${label}" -v diego_bbs_active_key_label="${label}" > "${work}/new.yml"
    name="$("${bosh}" interpolate "${work}/new.yml" --path /name)"
    [[ "${name}" == "${DEPLOYMENT_NAME}" ]] ||
      die "the interpolated manifest deploys ${name}, not DEPLOYMENT_NAME=${DEPLOYMENT_NAME}"
    cat "${work}/new.yml"
    exit 0
  fi
fi

vault_token() {
  if [[ -n "${VAULT_TOKEN:-}" ]]; then
    printf '%s\n' "${VAULT_TOKEN}"
    return
  fi
  need VAULT_ROLE_ID VAULT_SECRET_ID
  local token
  token="$(jq -n --arg r "${VAULT_ROLE_ID}" --arg s "${VAULT_SECRET_ID}" '{role_id: $r, secret_id: $s}' |
    curl "${curl_opts[@]}" -X POST --data @- "${VAULT_ADDR%/}/v1/auth/approle/login" | jq -r .auth.client_token)"
  [[ -n "${token}" && "${token}" != null ]] || die "Vault AppRole login returned no token"
  printf '%s\n' "${token}"
}

curl_opts=(--silent --show-error --fail)
[[ -n "${VAULT_CACERT:-}" ]] && curl_opts+=(--cacert "${VAULT_CACERT}")
token=""
if [[ -n "${VAULT_ADDR:-}" ]]; then
  command -v curl >/dev/null 2>&1 || die "Vault needs curl"
  command -v jq >/dev/null 2>&1 || die "Vault needs jq"
  [[ -n "${VAULT_TOKEN:-}" ]] || need VAULT_ROLE_ID VAULT_SECRET_ID
fi

# The BBS admin API: from the params, else from Vault.
if [[ -n "${VAULT_ADDR:-}" && ( -z "${BBS_ADMIN_URLS:-}" || -z "${BBS_ADMIN_CERT:-}" || -z "${BBS_ADMIN_KEY:-}" || -z "${BBS_ADMIN_CA_CERT:-}" ) ]]; then
  admin_path="${VAULT_BBS_ADMIN_PATH:-}"
  if [[ -z "${admin_path}" && "${VAULT_KEY_PATH:-}" == *_active_key_label ]]; then
    admin_path="${VAULT_KEY_PATH%_active_key_label}_admin"
  fi
  [[ -n "${admin_path}" ]] || die "set BBS_ADMIN_URLS, BBS_ADMIN_CERT, BBS_ADMIN_KEY and BBS_ADMIN_CA_CERT, or VAULT_BBS_ADMIN_PATH"
  token="$(vault_token)"
  log "reading the BBS admin API settings from Vault at ${VAULT_KV_MOUNT:-concourse}/${admin_path}"
  curl "${curl_opts[@]}" -H "X-Vault-Token: ${token}" \
    "${VAULT_ADDR%/}/v1/${VAULT_KV_MOUNT:-concourse}/data/${admin_path}" | jq .data.data > "${work}/admin.json" ||
    die "reading ${VAULT_KV_MOUNT:-concourse}/${admin_path} from Vault failed"
  field() { jq -r --arg f "$1" '.[$f] // "" | if type == "array" then join(" ") else . end' "${work}/admin.json"; }
  [[ -n "${BBS_ADMIN_URLS:-}" ]] || BBS_ADMIN_URLS="$(field urls)"
  [[ -n "${BBS_ADMIN_CERT:-}" ]] || BBS_ADMIN_CERT="$(field certificate)"
  [[ -n "${BBS_ADMIN_KEY:-}" ]] || BBS_ADMIN_KEY="$(field private_key)"
  [[ -n "${BBS_ADMIN_CA_CERT:-}" ]] || BBS_ADMIN_CA_CERT="$(field ca)"
fi
need BBS_ADMIN_URLS BBS_ADMIN_CERT BBS_ADMIN_KEY BBS_ADMIN_CA_CERT

# pem_file NAME VALUE: VALUE when it is a path, else VALUE (a PEM) in a file.
pem_file() {
  if [[ "$2" == *"-----BEGIN"* ]]; then
    (umask 077 && printf '%s\n' "$2" > "${work}/$1")
    printf '%s\n' "${work}/$1"
  else
    [[ -f "$2" ]] || die "$1: neither a PEM nor a file: $2"
    printf '%s\n' "$2"
  fi
}

diego="${DIEGO_CLI:-}"
if [[ -z "${diego}" ]]; then
  diego="${repo}/bin/diego"
  if [[ ! -x "${diego}" ]]; then
    command -v go >/dev/null 2>&1 || die "no diego CLI: set DIEGO_CLI, or install Go to build ${diego}"
    log "building ${diego}"
    (cd "${repo}" && go build -o bin/diego ./src/cmd/diego)
  fi
fi

args=(rotate-encryption-key
  --admin-cert "$(pem_file admin.crt "${BBS_ADMIN_CERT}")"
  --admin-key "$(pem_file admin.key "${BBS_ADMIN_KEY}")"
  --ca-cert "$(pem_file ca.crt "${BBS_ADMIN_CA_CERT}")")
while IFS= read -r u; do
  args+=(--bbs-admin-url "${u}")
done < <(split_list "${BBS_ADMIN_URLS}")
[[ -n "${NEW_KEY_LABEL:-}" ]] && args+=(--new-key-label "${NEW_KEY_LABEL}")

if [[ "${key_source}" == vault ]]; then
  need VAULT_ADDR
  [[ "${DRY_RUN:-false}" != true ]] || die "DRY_RUN is for KEY_SOURCE=manifest (a Vault rotation deploys nothing)"
  args+=(--vault-addr "${VAULT_ADDR}" --vault-mount "${VAULT_KEY_RING_MOUNT:-secret}"
    --vault-path "${VAULT_KEY_RING_PATH:-diego/bbs/encryption}")
  [[ -n "${VAULT_CACERT:-}" ]] && args+=(--vault-ca-cert "${VAULT_CACERT}")
  if [[ -n "${VAULT_TOKEN:-}" ]]; then
    args+=(--vault-token "${VAULT_TOKEN}")
  else
    args+=(--vault-role-id "${VAULT_ROLE_ID}" --vault-secret-id "${VAULT_SECRET_ID}")
  fi
  log "${DEPLOYMENT_NAME:-}: rotating the key ring in Vault at ${VAULT_KEY_RING_MOUNT:-secret}/${VAULT_KEY_RING_PATH:-diego/bbs/encryption}"
  "${diego}" "${args[@]}"
  exit 0
fi

ops_dir="${OPS_DIR:-}"
if [[ -z "${ops_dir}" ]]; then
  if [[ -d rotation ]]; then ops_dir="$(pwd)/rotation"; else ops_dir="${work}/ops"; fi
fi
args+=(--deployment "${DEPLOYMENT_NAME}" --manifest "${manifest}" --bosh-cli "${bosh}"
  --release-ops-dir "${repo}/ops-files" --ops-dir "${ops_dir}")
for ((i = 0; i + 1 < ${#base_args[@]}; i += 2)); do
  case "${base_args[i]}" in
    -o) args+=(--ops-file "${base_args[i + 1]}") ;;
    -l) args+=(--vars-file "${base_args[i + 1]}") ;;
    -v) args+=(--var "${base_args[i + 1]}") ;;
  esac
done
if [[ "${DRY_RUN:-false}" == true ]]; then
  args+=(--dry-run)
else
  bosh_target
fi
"${diego}" "${args[@]}" > "${work}/result.json"
cat "${work}/result.json"
[[ "${DRY_RUN:-false}" == true ]] && exit 0

if [[ -n "${VAULT_ADDR:-}" && -n "${VAULT_KEY_PATH:-}" ]]; then
  label="$(jq -r .active_label "${work}/result.json")"
  [[ -n "${token}" ]] || token="$(vault_token)"
  log "recording ${label} in Vault at ${VAULT_KV_MOUNT:-concourse}/${VAULT_KEY_PATH}"
  jq -n --arg v "${label}" --arg d "${DEPLOYMENT_NAME}" --arg t "$(date -u +%FT%TZ)" \
    --rawfile ops "$(jq -r .key_ops_file "${work}/result.json")" \
    '{data: {value: $v, deployment: $d, rotated_at: $t, ops_file: $ops}}' |
    curl "${curl_opts[@]}" -X POST -H "X-Vault-Token: ${token}" --data @- \
      "${VAULT_ADDR%/}/v1/${VAULT_KV_MOUNT:-concourse}/data/${VAULT_KEY_PATH}" >/dev/null
fi
log "done: ${DEPLOYMENT_NAME} seals with the new key. Add its ops-file (in ${ops_dir}; also printed above$([[ -n "${VAULT_KEY_PATH:-}" ]] && printf ' and in Vault, field ops_file')),"
log "ops-files/set-bbs-active-key.yml and diego_bbs_active_key_label=<the label> to its deploy configuration"
