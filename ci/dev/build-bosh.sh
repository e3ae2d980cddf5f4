#!/usr/bin/env bash
# Builds the real bosh CLI (github.com/cloudfoundry/bosh-cli/v7, pinned in
# tools/go.mod) into bin/bosh. Skipped when bin/bosh is newer than
# tools/go.sum. `go install` of the CLI does not work against the module proxy
# here (docs/release-reference.md), so it is built from the tools module.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${BOSH_BIN:-$PWD/bin/bosh}
if [ -x "$out" ] && [ "$out" -nt tools/go.sum ] && [ -z "${FORCE:-}" ]; then
  exit 0
fi
mkdir -p "$(dirname "$out")"
ver=$(grep -o 'cloudfoundry/bosh-cli/v7 v[0-9.]*' tools/go.mod | head -n1 | awk '{print $2}')
ver=${ver#v}
echo "build-bosh: building $out (bosh-cli $ver)" >&2
start=$(date +%s)
(cd tools && go build -ldflags "-X github.com/cloudfoundry/bosh-cli/v7/cmd.VersionLabel=$ver" -o "$out.tmp" github.com/cloudfoundry/bosh-cli/v7)
mv "$out.tmp" "$out"
echo "build-bosh: done in $(( $(date +%s) - start ))s: $("$out" --version | head -n1)" >&2
