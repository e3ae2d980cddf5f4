#!/usr/bin/env bash
# Shared helpers of the ci/scripts/*.sh task scripts (sourced, not run).
# Every script runs in Concourse (params as environment variables, inputs as
# directories in the working directory) and by hand from a checkout.

# Concourse passes a param declared without a value as an empty variable; the
# bosh CLI rejects an empty BOSH_CA_CERT (even for interpolate), so empty
# BOSH_* variables are unset.
for _v in BOSH_ENVIRONMENT BOSH_CLIENT BOSH_CLIENT_SECRET BOSH_CA_CERT BOSH_DEPLOYMENT; do
  [[ -n "${!_v:-}" ]] || unset "${_v}"
done
unset _v

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# need NAME...: fails naming every unset or empty environment variable.
need() {
  local missing=() v
  for v in "$@"; do
    [[ -n "${!v:-}" ]] || missing+=("$v")
  done
  [[ ${#missing[@]} -eq 0 ]] || { usage >&2; die "missing: ${missing[*]}"; }
}

# repo_dir: the diego-go checkout. REPO_DIR when set; else the task input
# `diego` when the working directory has one; else the checkout this script
# lives in (running by hand).
repo_dir() {
  if [[ -n "${REPO_DIR:-}" ]]; then
    (cd "${REPO_DIR}" && pwd)
  elif [[ -d diego/ci/scripts ]]; then
    (cd diego && pwd)
  else
    (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  fi
}

# split_list VALUE: one item per line. VALUE is a whitespace- or
# comma-separated list, or a JSON/YAML flow list of strings (Concourse passes a
# list param as JSON), e.g. `a.yml b.yml` or `["a.yml","b.yml"]`. Items may not
# contain whitespace, commas, quotes or brackets.
split_list() {
  local v="${1:-}"
  v="${v//[\[\]\"\']/ }"
  v="${v//,/ }"
  local item
  for item in $v; do
    printf '%s\n' "$item"
  done
}

# resolve PATH: absolute paths as they are, others relative to the repo.
resolve() {
  case "$1" in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(repo_dir)" "$1" ;;
  esac
}

# bosh_cli: BOSH_CLI, else `bosh` on PATH, else the repo's bin/bosh (make bosh).
bosh_cli() {
  if [[ -n "${BOSH_CLI:-}" ]]; then
    printf '%s\n' "${BOSH_CLI}"
  elif command -v bosh >/dev/null 2>&1; then
    command -v bosh
  elif [[ -x "$(repo_dir)/bin/bosh" ]]; then
    printf '%s\n' "$(repo_dir)/bin/bosh"
  else
    die "no bosh CLI: set BOSH_CLI, put bosh on PATH or run make bosh"
  fi
}

# bosh_target: checks the director credentials the bosh CLI reads from the
# environment (BOSH_ENVIRONMENT, BOSH_CLIENT, BOSH_CLIENT_SECRET, BOSH_CA_CERT:
# a PEM or a path to one).
bosh_target() {
  need BOSH_ENVIRONMENT BOSH_CLIENT BOSH_CLIENT_SECRET
  export BOSH_ENVIRONMENT BOSH_CLIENT BOSH_CLIENT_SECRET
  if [[ -n "${BOSH_CA_CERT:-}" ]]; then export BOSH_CA_CERT; fi
  export BOSH_NON_INTERACTIVE=true
}

# ops_and_vars_args: the -o/-l/-v arguments for OPS_FILES, VARS_FILES and VARS
# (KEY=VALUE items), one per line; fails on a file that does not exist.
ops_and_vars_args() {
  local f p
  while IFS= read -r f; do
    p="$(resolve "$f")"
    [[ -f "$p" ]] || die "OPS_FILES: $f: no such file ($p)"
    printf '%s\n%s\n' -o "$p"
  done < <(split_list "${OPS_FILES:-}")
  while IFS= read -r f; do
    p="$(resolve "$f")"
    [[ -f "$p" ]] || die "VARS_FILES: $f: no such file ($p)"
    printf '%s\n%s\n' -l "$p"
  done < <(split_list "${VARS_FILES:-}")
  while IFS= read -r f; do
    [[ "$f" == *=* ]] || die "VARS: $f is not KEY=VALUE"
    printf '%s\n%s\n' -v "$f"
  done < <(split_list "${VARS:-}")
}
