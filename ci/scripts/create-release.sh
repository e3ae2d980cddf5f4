#!/usr/bin/env bash
# Builds the diego-go release tarball with ci/dev/release.sh into an output
# directory, with a version file next to it. Task: ci/tasks/create-release.yml.
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: [OUTPUT_DIR=release] [VERSION=...] create-release.sh

Environment:
  OUTPUT_DIR   where diego-go-VERSION.tgz and `version` go (default: the task
               output `release`, else REPO_DIR/dev_releases)
  VERSION      release version (default: 0.<commit count>.0+dev.<short sha>, or 0+dev.<timestamp> outside git)
  REPO_DIR     the diego-go checkout (default: input `diego`, else this checkout)
Needs Go and the bosh CLI (BOSH_CLI, `bosh` on PATH, or bin/bosh: built with
ci/dev/build-bosh.sh when missing).
USAGE
}
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { usage; exit 0; }

repo="$(repo_dir)"
if [[ -n "${OUTPUT_DIR:-}" ]]; then
  out="${OUTPUT_DIR}"
elif [[ -d release ]]; then
  out="release"
else
  out="${repo}/dev_releases"
fi
mkdir -p "${out}"
out="$(cd "${out}" && pwd)"

version="${VERSION:-}"
if [[ -z "${version}" ]]; then
  if sha="$(git -C "${repo}" rev-parse --short HEAD 2>/dev/null)"; then
    version="0.$(git -C "${repo}" rev-list --count HEAD).0+dev.${sha}"
  else
    version="0+dev.$(date -u +%Y%m%d%H%M%S)"
  fi
fi

if [[ -z "${BOSH_CLI:-}" ]] && ! command -v bosh >/dev/null 2>&1 && [[ ! -x "${repo}/bin/bosh" ]]; then
  log "no bosh CLI: building bin/bosh"
  bash "${repo}/ci/dev/build-bosh.sh"
fi
BOSH_CLI="$(bosh_cli)"
export BOSH_CLI

tarball="${out}/diego-go-${version}.tgz"
log "creating ${tarball}"
bash "${repo}/ci/dev/release.sh" --tarball "${tarball}" --version "${version}"
printf '%s\n' "${version}" > "${out}/version"
log "created ${tarball} ($(du -h "${tarball}" | cut -f1))"
