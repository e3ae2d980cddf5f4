# shellcheck shell=bash
# What ci/local/*.sh share (sourced): the repository, the local Concourse's
# state directory (CONCOURSE_DIR, default /tmp/diego-concourse) and web port
# (PORT, default 8181), bin/fly and its target, and log (prefixed with the
# script's name).
# shellcheck disable=SC2034  # used by the scripts that source this file
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dir="${CONCOURSE_DIR:-/tmp/diego-concourse}"
port="${PORT:-8181}"
fly="${repo}/bin/fly"
target=diego-local
log() { printf '%s: %s\n' "$(basename "$0" .sh)" "$*" >&2; }
