#!/usr/bin/env bash
# The repository's unit tests: go vet, gofmt and `go test -short ./...`
# (no PostgreSQL/MariaDB, no acceptance run). Task: ci/tasks/unit-tests.yml.
set -euo pipefail
# shellcheck source=ci/scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'USAGE'
usage: [GO_TEST_FLAGS=...] [PACKAGES=./...] unit-tests.sh

Environment:
  PACKAGES        packages to test (default ./...)
  GO_TEST_FLAGS   extra go test flags (default -short -count=1 -timeout 20m)
  REPO_DIR        the diego-go checkout (default: input `diego`, else this checkout)
USAGE
}
[[ "${1:-}" == -h || "${1:-}" == --help ]] && { usage; exit 0; }

if [[ -d gopath ]]; then  # the task's cache
  export GOPATH="${PWD}/gopath" GOCACHE="${PWD}/gopath/cache"
fi
cd "$(repo_dir)"
command -v go >/dev/null 2>&1 || die "no go on PATH"
read -r -a pkgs <<< "${PACKAGES:-./...}"
read -r -a flags <<< "${GO_TEST_FLAGS:--short -count=1 -timeout 20m}"
log "go vet ${pkgs[*]}"
go vet "${pkgs[@]}"
unformatted="$(gofmt -l src)"
[[ -z "${unformatted}" ]] || die "gofmt needed: ${unformatted}"
log "go test ${flags[*]} ${pkgs[*]}"
go test "${flags[@]}" "${pkgs[@]}"
