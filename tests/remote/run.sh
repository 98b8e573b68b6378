#!/usr/bin/env bash
# tests/remote/run.sh — make test/remote: runs remote/setup/01.sh twice in a
# throw-away Debian 12 chroot and checks that the first run provisions the
# host and the second changes nothing. Needs root, debootstrap and network
# access to a Debian mirror (minutes of downloads) unless REDLIGHT_BASE_ROOT
# names an unpacked bookworm root to copy (it is copied, never modified;
# /tmp/fresh-base is used when it exists).
set -euo pipefail
cd "$(dirname -- "${BASH_SOURCE[0]}")/../.."
ROOT=$(pwd -P)

[ "$(id -u)" -eq 0 ] || { echo "test/remote: run as root" >&2; exit 1; }
base=${REDLIGHT_BASE_ROOT:-/tmp/fresh-base}
mirror=${REDLIGHT_DEBIAN_MIRROR:-http://deb.debian.org/debian}

work=$(mktemp -d /tmp/redlight-remote.XXXXXX)
target=$work/root
mounted=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    local m i
    # stop a PostgreSQL a failed run may have left behind in the chroot
    # shellcheck disable=SC2016 # expanded inside the chroot
    chroot "$target" sh -c 'pg_lsclusters -h 2>/dev/null | while read -r v c _; do pg_ctlcluster "$v" "$c" stop; done' 2>/dev/null || true
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        m=${mounted[$i]}
        umount -l "$m" 2>/dev/null || true
    done
    # never recurse into a bind mount of the host's /dev, /proc or /sys
    if grep -q " $work/" /proc/mounts; then
        echo "test/remote: mounts remain under $work; not removing it" >&2
        return
    fi
    rm -rf -- "$work"
}
trap cleanup EXIT

if [ -d "$base/etc" ] && grep -q 'VERSION_ID="12"' "$base/etc/os-release"; then
    echo "== copying $base"
    cp -a "$base" "$target"
else
    echo "== debootstrap --variant=minbase bookworm $target"
    debootstrap --variant=minbase bookworm "$target" "$mirror"
fi
cp /etc/resolv.conf "$target/etc/resolv.conf"
for m in proc sys dev dev/pts; do
    mount --bind "/$m" "$target/$m"
    mounted+=("$target/$m")
done
mkdir -p "$target/dev/shm"
install -m 0755 "$ROOT/remote/setup/01.sh" "$target/root/01.sh"

run() {
    chroot "$target" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 REDLIGHT_DOMAIN=api.example.com \
        REDLIGHT_ACME_EMAIL=ops@example.com bash /root/01.sh 2>&1 |
        tee "$work/$1.log"
    return "${PIPESTATUS[0]}"
}
echo "== first run"
run first
echo "== second run"
run second

fail=0
check() {
    if eval "$2"; then
        echo "ok: $1"
    else
        echo "FAIL: $1"
        fail=1
    fi
}
check "first run made changes" "grep -q 'change(s) made' '$work/first.log'"
check "first run says services are enabled, not started" \
    "grep -q 'enabled, not started' '$work/first.log'"
check "second run changed nothing" \
    "grep -q 'nothing changed' '$work/second.log' && ! grep -q '^01.sh: changed:' '$work/second.log'"
check "user redlight exists" "chroot '$target' getent passwd redlight >/dev/null"
check "redlight.env is 0640 root:redlight" \
    "[ \"\$(chroot '$target' stat -c '%a %U:%G' /etc/redlight/redlight.env)\" = '640 root:redlight' ]"
check "redlight.env holds a DSN with a generated password" \
    "grep -Eq '^REDLIGHT_DB_DSN=postgres://redlight:[A-Za-z0-9_-]{32}@localhost/redlight' '$target/etc/redlight/redlight.env'"
check "runtime libraries installed" \
    "chroot '$target' dpkg-query -W libmicrohttpd12 libpq5 libjansson4 libsodium23 libcurl4 >/dev/null"
check "services enabled" \
    "for s in postgresql caddy ufw unattended-upgrades; do [ \"\$(chroot '$target' systemctl is-enabled \$s)\" = enabled ] || exit 1; done"
check "firewall allows 22, 80, 443 only" \
    "[ \"\$(chroot '$target' ufw show added | grep -c '^ufw allow')\" = 3 ]"
# the generated password really opens the database
dsn=$(sed -n 's/^REDLIGHT_DB_DSN=//p' "$target/etc/redlight/redlight.env")
chroot "$target" pg_ctlcluster 15 main start
check "the DSN in redlight.env connects" \
    "chroot '$target' psql -X -tA '$dsn' -c 'SELECT current_user' | grep -qx redlight"
chroot "$target" pg_ctlcluster 15 main stop
[ "$fail" = 0 ] && echo "test/remote: all checks passed"
exit "$fail"
