#!/usr/bin/env bash
# A local Concourse for ci/local/*.sh: `concourse quickstart` from the pin in
# tools/concourse, on the PostgreSQL of ci/dev/ensure-services.sh (database
# concourse_local), the houdini runtime (tasks run as processes on this
# machine: no images, no resource types), loopback only, user ci/ci-pass,
# fly target diego-local.
# Usage: ci/local/concourse.sh start|stop
#   start: build bin/fly and bin/concourse when missing or older than the pin,
#          start the server unless it answers, log in, wait for the worker
#   stop:  stop the server and remove houdini's leftover bind mounts under
#          CONCOURSE_DIR/worker (rm -rf CONCOURSE_DIR after, if you like)
# Environment: CONCOURSE_DIR (state, default /tmp/diego-concourse), PORT (web,
# default 8181). Needs root (houdini), Go, PostgreSQL on 127.0.0.1:5432 (trust).
set -euo pipefail

# shellcheck source=ci/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop() {
  if [[ -f "${dir}/pid" ]] && kill -0 "$(cat "${dir}/pid")" 2>/dev/null; then
    kill -TERM "$(cat "${dir}/pid")"
    log "stopped concourse $(cat "${dir}/pid")"
    sleep 5
  fi
  # houdini leaves the builds' bind mounts under the work dir
  awk -v d="${dir}/worker/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount "${m}" || umount -l "${m}"; done
}

start() {
  mkdir -p "${dir}/worker" "${repo}/bin"
  for b in fly concourse; do
    if [[ ! -x "${repo}/bin/${b}" || "${repo}/bin/${b}" -ot "${repo}/tools/concourse/go.sum" ]]; then
      log "building bin/${b} (minutes on a cold cache)"
      pkg=github.com/concourse/concourse/fly
      [[ "${b}" == concourse ]] && pkg=github.com/concourse/concourse/cmd/concourse
      (cd "${repo}/tools/concourse" && go build -o "${repo}/bin/${b}" "${pkg}")
    fi
  done
  if ! curl -fsS "http://127.0.0.1:${port}/api/v1/info" >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U postgres -Atc "select 1 from pg_database where datname='concourse_local'" | grep -q 1 ||
      psql -h 127.0.0.1 -U postgres -qc 'create database concourse_local'
    log "starting concourse quickstart on :${port} (log ${dir}/concourse.log)"
    setsid "${repo}/bin/concourse" quickstart \
      --postgres-host 127.0.0.1 --postgres-port 5432 --postgres-user postgres --postgres-database concourse_local \
      --add-local-user ci:ci-pass --main-team-local-user ci \
      --external-url "http://127.0.0.1:${port}" --bind-ip 127.0.0.1 --bind-port "${port}" --debug-bind-port $((port + 10000)) \
      --tsa-bind-port $((port + 4041)) --tsa-debug-bind-port $((port + 4040)) --worker-tsa-host "127.0.0.1:$((port + 4041))" \
      --worker-runtime houdini --worker-work-dir "${dir}/worker" --worker-baggageclaim-driver naive \
      --worker-bind-port $((port + 9596)) --worker-baggageclaim-bind-port $((port + 9607)) \
      --worker-baggageclaim-debug-bind-port $((port + 9606)) --worker-debug-bind-port $((port + 9595)) \
      --worker-healthcheck-bind-port $((port + 10707)) \
      --enable-pipeline-instances > "${dir}/concourse.log" 2>&1 &
    echo $! > "${dir}/pid"
  fi
  for _ in $(seq 1 60); do
    "${fly}" -t "${target}" login -c "http://127.0.0.1:${port}" -u ci -p ci-pass >/dev/null 2>&1 &&
      "${fly}" -t "${target}" workers 2>/dev/null | grep -q running && break
    sleep 2
  done
  "${fly}" -t "${target}" workers | grep -q running || { log "no running worker; see ${dir}/concourse.log"; exit 1; }
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
