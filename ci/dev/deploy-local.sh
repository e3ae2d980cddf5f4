#!/usr/bin/env bash
# The release deployed on this machine as a test harness (docs/deploy-local.md).
#
#   ci/dev/deploy-local.sh up [deploy-local up flags...]   # foreground; Ctrl-C drains and stops
#   ci/dev/deploy-local.sh test                             # TestDeployLocal, TestRotateErrandLocal (each: up, errands, down)
#   ci/dev/deploy-local.sh errand|drain|ssh|status|down ARGS...
#
# Needs root. DEPLOY_LOCAL_ROOT (default .cache/deploy-local/root) is the
# deployment's directory; `up` applies ops-files/test/local-deployment.yml
# and builds the release tarball (ci/dev/release.sh) unless --tarball is given.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "${repo}"
root="${DEPLOY_LOCAL_ROOT:-${repo}/.cache/deploy-local/root}"
GO="${GO:-go}"

if [[ $(id -u) -ne 0 ]]; then
  echo "deploy-local needs root (network namespaces, bind mounts)" >&2
  exit 1
fi

cmd="${1:-up}"
shift || true
case "${cmd}" in
  test)
    cd tools
    exec env DIEGO_DEPLOYLOCAL_TEST=1 "${GO}" test -count=1 -timeout 30m -v -run 'TestDeployLocal|TestRotateErrandLocal' ./deploylocal "$@"
    ;;
esac

bash ci/dev/build-bosh.sh
(cd tools && "${GO}" build -o "${repo}/bin/deploy-local" ./cmd/deploy-local)
case "${cmd}" in
  up)
    exec bin/deploy-local up --root "${root}" --packages-dir "${repo}/.cache/deploy-local/packages" \
      -o ops-files/test/local-deployment.yml \
      -l manifests/example-vars-files/vars-diego.yml "$@"
    ;;
  errand|drain|ssh)
    what="${1:?${cmd} needs an argument}"
    shift
    exec bin/deploy-local "${cmd}" "${what}" --root "${root}" "$@"
    ;;
  status|down)
    exec bin/deploy-local "${cmd}" --root "${root}" "$@"
    ;;
  *)
    sed -n '2,10p' "$0" >&2
    exit 2
    ;;
esac
