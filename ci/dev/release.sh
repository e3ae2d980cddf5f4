#!/usr/bin/env bash
# Builds the diego-go BOSH release tarball from this repository.
#
#   ci/dev/release.sh [--tarball PATH] [--version VERSION] [--prepare-only] [--no-hub-ui]
#
# 0. The Diego Hub's UI bundle, src/hub/ui/dist (gitignored), which the hub
#    package embeds: `make hub-ui` (npm ci && npm run build in src/hub/ui).
#    --no-hub-ui keeps whatever dist holds (only .keep in a fresh checkout:
#    the hub then serves a page saying the UI is not built).
# 1. src/_release/ (gitignored): go.mod, go.sum, `go mod vendor` output and
#    VERSION, the files of the diego-vendor package.
# 2. The Go toolchain of this machine ($(go env GOROOT)) as the blob
#    golang/go<version>.linux-amd64.tar.gz of golang-1-linux (bosh add-blob;
#    config/blobs.yml is generated, gitignored, and rewritten on every run).
# 3. bosh create-release --force --tarball=PATH (default
#    dev_releases/diego-go-<version>.tgz).
#
# The bosh CLI is $BOSH_CLI, else tools/bin/bosh, bin/bosh or `bosh` on PATH.
# Needs Go (the toolchain the release ships), the module cache or network for
# `go mod vendor`, npm (and its cache or network for `npm ci`), tar and gzip.
# The result compiles offline.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${repo}"

tarball=""
version=""
prepare_only=false
hub_ui=true
while [[ $# -gt 0 ]]; do
  case "$1" in
    --tarball) tarball="$2"; shift 2 ;;
    --tarball=*) tarball="${1#*=}"; shift ;;
    --version) version="$2"; shift 2 ;;
    --version=*) version="${1#*=}"; shift ;;
    --prepare-only) prepare_only=true; shift ;;
    --no-hub-ui) hub_ui=false; shift ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*" >&2; }

bosh_cli() {
  local c
  for c in "${BOSH_CLI:-}" tools/bin/bosh bin/bosh; do
    if [[ -n "${c}" && -x "${c}" ]]; then echo "${c}"; return; fi
  done
  command -v bosh || { echo "no bosh CLI: set BOSH_CLI or build tools/bin/bosh" >&2; return 1; }
}

# The version the binaries report (-version); the release version is --version
# when given, else bosh's next dev version.
binary_version="${version:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"

# 0. the hub's UI bundle (embedded by the hub package)
if ${hub_ui} && [[ -f src/hub/ui/package.json ]]; then
  say "building the hub's UI (src/hub/ui/dist)"
  if grep -q '^hub-ui:' Makefile; then
    make --no-print-directory hub-ui >&2
  else
    (cd src/hub/ui && npm ci && npm run build) >&2
  fi
  [[ -f src/hub/ui/dist/index.html ]] || { echo "building the hub's UI wrote no src/hub/ui/dist/index.html" >&2; exit 1; }
fi

# 1. vendored module files
say "preparing src/_release (go mod vendor, binaries report ${binary_version})"
rm -rf src/_release
mkdir -p src/_release
cp go.mod go.sum src/_release/
go mod vendor -o src/_release/vendor
printf '%s\n' "${binary_version}" > src/_release/VERSION

# 2. the Go toolchain blob
goroot="$(go env GOROOT)"
goversion="$(go env GOVERSION)"
if [[ "$(go env GOHOSTOS)/$(go env GOHOSTARCH)" != linux/amd64 ]]; then
  echo "the golang-1-linux blob must be a linux/amd64 toolchain; this Go is $(go env GOHOSTOS)/$(go env GOHOSTARCH)" >&2
  exit 1
fi
cache="${DIEGO_RELEASE_CACHE:-${repo}/.cache/release}"
blob_name="${goversion}.linux-amd64.tar.gz"
blob="${cache}/${blob_name}"
mkdir -p "${cache}"
if [[ ! -s "${blob}" ]]; then
  say "packing ${goroot} into ${blob}"
  # the toolchain without its test suite, API lists and docs (not needed to build)
  tar -C "$(dirname "${goroot}")" \
    --exclude="$(basename "${goroot}")/test" --exclude="$(basename "${goroot}")/api" \
    --exclude="$(basename "${goroot}")/doc" --exclude='testdata' \
    --transform "s#^$(basename "${goroot}")#go#" \
    -czf "${blob}.tmp" "$(basename "${goroot}")"
  mv "${blob}.tmp" "${blob}"
fi

if ${prepare_only}; then
  say "prepared src/_release and ${blob}; not creating the release (--prepare-only)"
  exit 0
fi

bosh="$(bosh_cli)"
say "adding blob golang/${blob_name} with ${bosh}"
printf -- '--- {}\n' > config/blobs.yml
rm -rf blobs/golang
"${bosh}" add-blob "${blob}" "golang/${blob_name}" >&2

# 3. the release tarball
mkdir -p dev_releases
tarball="${tarball:-dev_releases/diego-go-${binary_version}.tgz}"
say "creating ${tarball}"
version_args=()
[[ -n "${version}" ]] && version_args=(--version "${version}")
"${bosh}" create-release --force --name diego-go "${version_args[@]}" --tarball="${tarball}" >&2
say "done: ${tarball}"
echo "${tarball}"
