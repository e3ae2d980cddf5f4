#!/usr/bin/env bash
# Makes sure the databases the test suites talk to are installed and running:
# PostgreSQL on 127.0.0.1:5432 (trust auth) and MariaDB on 127.0.0.1:3306
# (root, empty password). Installs them from Debian's packages when missing.
# Fails loudly: the PostgreSQL and MariaDB suites are never skipped.
set -euo pipefail

log() { printf 'ensure-services: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

apt_install() {
  [ "$(id -u)" = 0 ] || die "need root to install $*"
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

wait_for() { # name, command...
  local name=$1; shift
  for _ in $(seq 1 60); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  die "$name did not become ready"
}

# --- PostgreSQL -------------------------------------------------------------
# pg_version: the newest PostgreSQL version with a cluster under /etc/postgresql.
pg_version() { find /etc/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n1; }
command -v pg_ctlcluster >/dev/null 2>&1 || { log "installing postgresql"; apt_install postgresql postgresql-client; }
command -v pg_dump >/dev/null 2>&1 || apt_install postgresql-client
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  log "starting PostgreSQL"
  ver=$(pg_version)
  [ -n "$ver" ] || die "no PostgreSQL cluster under /etc/postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
fi
if ! psql -h 127.0.0.1 -U postgres -Atc 'select 1' >/dev/null 2>&1; then
  # trust auth for loopback test connections
  hbas=(/etc/postgresql/*/main/pg_hba.conf)
  hba="${hbas[0]}"
  log "enabling trust auth for 127.0.0.1 in $hba"
  sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  ver=$(pg_version)
  pg_ctlcluster --skip-systemctl-redirect "$ver" main reload
  sleep 1
  psql -h 127.0.0.1 -U postgres -Atc 'select 1' >/dev/null || die "cannot connect to PostgreSQL as postgres on 127.0.0.1"
fi
log "PostgreSQL ready ($(psql -h 127.0.0.1 -U postgres -Atc 'show server_version'))"

# --- MariaDB ----------------------------------------------------------------
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || { log "installing mariadb-server"; apt_install mariadb-server mariadb-client; }
if ! mysqladmin -h 127.0.0.1 -uroot ping >/dev/null 2>&1; then
  log "starting MariaDB"
  if mkdir -p /run/mysqld; then chown mysql:mysql /run/mysqld 2>/dev/null || true; fi
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  wait_for MariaDB mysqladmin -h 127.0.0.1 -uroot ping
fi
mysql -h 127.0.0.1 -uroot -e 'select 1' >/dev/null 2>&1 || die "cannot connect to MariaDB as root on 127.0.0.1"
log "MariaDB ready ($(mysql -h 127.0.0.1 -uroot -N -e 'select version()'))"

# --- runc (the rep's runc container backend) --------------------------------
# src/rep/container/runc's tests run real containers: runc, iproute2's ip and a
# static busybox (ci/dev/rootfs/busybox.sh builds their rootfs from it); the
# disk quota needs mkfs.ext4 (e2fsprogs) and /dev/loop-control (Linux 5.8+),
# egress rules and NAT iptables and nsenter (util-linux).
# Never skipped: without them (or without root) those tests fail.
command -v runc >/dev/null 2>&1 || { log "installing runc"; apt_install runc; }
command -v ip >/dev/null 2>&1 || { log "installing iproute2"; apt_install iproute2; }
command -v iptables-restore >/dev/null 2>&1 || { log "installing iptables"; apt_install iptables; }
command -v mkfs.ext4 >/dev/null 2>&1 || { log "installing e2fsprogs"; apt_install e2fsprogs; }
command -v nsenter >/dev/null 2>&1 || { log "installing util-linux"; apt_install util-linux; }
if ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
  log "installing busybox-static"; apt_install busybox-static
fi
runc --version >/dev/null 2>&1 || die "runc is installed but does not run"
if ! [ -x /bin/busybox ] || ldd /bin/busybox >/dev/null 2>&1; then
  die "/bin/busybox is not the static busybox (apt-get install busybox-static)"
fi
log "runc ready ($(runc --version | head -n1))"

# --- ruby (the bosh CLI's ERB template renderer) ----------------------------
# tools/releasetest renders every job template of the BOSH release with the
# bosh CLI's templatescompiler, whose erbrenderer execs `ruby`.
command -v ruby >/dev/null 2>&1 || { log "installing ruby"; apt_install ruby; }
ruby -e 'require "erb"; require "json"; require "yaml"' >/dev/null 2>&1 || die "ruby is installed but cannot load erb/json/yaml"
log "ruby ready ($(ruby --version))"

# --- the OpenSSH client (src/sshd, src/sshproxy and src/cli test SSH with it) -
command -v sftp >/dev/null 2>&1 || { log "installing openssh-client"; apt_install openssh-client; }
log "openssh-client ready ($(ssh -V 2>&1))"

# --- shellcheck (make test-pipelines lints ci/scripts) ------------------------
command -v shellcheck >/dev/null 2>&1 || { log "installing shellcheck"; apt_install shellcheck; }
log "shellcheck ready ($(shellcheck --version | sed -n 's/^version: //p'))"

# --- Chromium (make test-hub drives Diego Hub's UI in it with Playwright) -----
# Debian's chromium, headless; Playwright's own browser download is not used.
[ -x /usr/bin/chromium ] || { log "installing chromium"; apt_install chromium; }
/usr/bin/chromium --headless --no-sandbox --version >/dev/null 2>&1 || die "chromium is installed but does not run"
log "chromium ready ($(/usr/bin/chromium --headless --no-sandbox --version 2>/dev/null | head -n1))"
