#!/usr/bin/env bash
# Builds a small busybox rootfs in DIR from Debian's busybox-static:
# /bin/busybox plus one symlink per applet, /etc/passwd and /etc/group with
# root and vcap (uid 2000), /tmp, /home/vcap. Idempotent: an existing DIR is
# rebuilt. Usage: ci/dev/rootfs/busybox.sh DIR
set -euo pipefail

die() { printf 'busybox.sh: ERROR: %s\n' "$*" >&2; exit 1; }

[ $# -eq 1 ] || die "usage: $0 DIR"
dir=$1
bb=${BUSYBOX:-/bin/busybox}
[ -x "$bb" ] || die "$bb not found: apt-get install -y busybox-static"
# A dynamically linked busybox would need the host's libc inside the rootfs.
if command -v ldd >/dev/null 2>&1 && ldd "$bb" >/dev/null 2>&1; then
  die "$bb is dynamically linked: apt-get install -y busybox-static"
fi

mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "${dir%/}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,home/vcap,proc,sys,dev,var/tmp}
chmod 1777 "$tmp/tmp" "$tmp/var/tmp"
cp "$bb" "$tmp/bin/busybox"
chmod 0755 "$tmp/bin/busybox"
# --list-full prints paths like "usr/bin/env"; link each to /bin/busybox.
"$bb" --list-full | while read -r applet; do
  [ "$applet" = bin/busybox ] && continue
  ln -sf /bin/busybox "$tmp/$applet"
done
cat >"$tmp/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
vcap:x:2000:2000:vcap:/home/vcap:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat >"$tmp/etc/group" <<'GR'
root:x:0:
vcap:x:2000:
nogroup:x:65534:
GR
echo "127.0.0.1 localhost" >"$tmp/etc/hosts"
: >"$tmp/etc/resolv.conf"
chown 2000:2000 "$tmp/home/vcap" 2>/dev/null || true

rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
printf 'busybox.sh: rootfs in %s (%s applets)\n' "$dir" "$(find "$dir/bin" "$dir/sbin" "$dir/usr" -type l | wc -l)" >&2
