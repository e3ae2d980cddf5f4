#!/usr/bin/env bash
# The build every Go package of this release runs, offline, on a compilation
# VM. The diego-vendor package installs this file next to go.mod, go.sum,
# VERSION and vendor/; a package's `packaging` script calls it in one line:
#
#   bash "${BOSH_PACKAGES_DIR:-/var/vcap/packages}/diego-vendor/go-package.sh" NAME [ARG...]
#       go build ./src/cmd/NAME (the release's VERSION stamped in) into
#       ${BOSH_INSTALL_TARGET}/bin/NAME, then run `bin/NAME ARG...` as a smoke
#       test (without ARGs: only check that it is executable)
#
#   source "${BOSH_PACKAGES_DIR:-/var/vcap/packages}/diego-vendor/go-package.sh"
#       only lay the module out and cd into it, for a package that builds
#       something else (packages/acceptance-tests/packaging)
#
# The module is a temporary directory holding go.mod, go.sum, vendor/ (from
# diego-vendor) and the calling package's files (BOSH_COMPILE_TARGET, the
# release's src/ tree) under src/; the toolchain is golang-1-linux's, with its
# hermetic environment (bosh/compile.env: GOPROXY=off, -mod=vendor).
# BOSH_PACKAGES_DIR (default /var/vcap/packages) locates the dependencies.
set -euo pipefail

packages="${BOSH_PACKAGES_DIR:-/var/vcap/packages}"
# shellcheck disable=SC1091
source "${packages}/golang-1-linux/bosh/compile.env"
vendor_pkg="${packages}/diego-vendor"

module="$(mktemp -d)"
# go_tmp (GOPATH, maybe GOCACHE) is set by compile.env
# shellcheck disable=SC2154
trap 'chmod -R u+w "${module}" "${go_tmp}" 2>/dev/null; rm -rf "${module}" "${go_tmp}"' EXIT
cp "${vendor_pkg}/go.mod" "${vendor_pkg}/go.sum" "${module}/"
ln -s "${vendor_pkg}/vendor" "${module}/vendor"
mkdir "${module}/src"
cp -a "${BOSH_COMPILE_TARGET}/." "${module}/src/"
version="$(cat "${vendor_pkg}/VERSION")"
mkdir -p "${BOSH_INSTALL_TARGET}/bin"
cd "${module}"

# go_build_cmd NAME [ARG...]: builds ./src/cmd/NAME into bin/NAME and runs it with ARGs.
go_build_cmd() {
  local name="$1"
  shift
  go build -ldflags "-X github.com/diego-go/diego/src/version.Version=${version}" \
    -o "${BOSH_INSTALL_TARGET}/bin/${name}" "./src/cmd/${name}"
  if [[ $# -gt 0 ]]; then
    "${BOSH_INSTALL_TARGET}/bin/${name}" "$@"
  else
    test -x "${BOSH_INSTALL_TARGET}/bin/${name}"
  fi
}

if [[ "${BASH_SOURCE[0]}" == "${0}" ]]; then
  [[ $# -ge 1 ]] || { echo "usage: go-package.sh NAME [ARG...] (builds ./src/cmd/NAME)" >&2; exit 2; }
  go_build_cmd "$@"
fi
