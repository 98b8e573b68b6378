#!/usr/bin/env bash
# remote/deb/build.sh OUT.deb VERSION ARCH — the redlight Debian package,
# built with dpkg-deb from bin/api and the files under remote/ (make deb).
# Depends is computed by dpkg-shlibdeps from the libraries bin/api links.
set -euo pipefail
out=$1 version=$2 arch=$3
cd "$(dirname -- "${BASH_SOURCE[0]}")/../.."

stage=$(mktemp -d)
trap 'rm -rf -- "$stage"' EXIT
pkg=$stage/pkg
install -D -m 0755 bin/api "$pkg/usr/bin/redlight-api"
strip --strip-unneeded "$pkg/usr/bin/redlight-api"
install -d -m 0755 "$pkg/usr/share/redlight/migrations"
install -m 0644 migrations/*.sql "$pkg/usr/share/redlight/migrations/"
install -D -m 0644 remote/production/redlight.service "$pkg/lib/systemd/system/redlight.service"
install -D -m 0644 remote/production/redlight.socket "$pkg/lib/systemd/system/redlight.socket"
install -D -m 0640 remote/production/redlight.env "$pkg/etc/redlight/redlight.env"
install -D -m 0644 remote/production/Caddyfile "$pkg/usr/share/redlight/Caddyfile"
install -D -m 0644 README.md "$pkg/usr/share/doc/redlight/README.md"
install -D -m 0755 remote/setup/01.sh "$pkg/usr/share/redlight/setup/01.sh"

# dpkg-shlibdeps wants a debian/control in the current directory.
mkdir -p "$stage/debian" "$pkg/DEBIAN"
printf 'Source: redlight\n\nPackage: redlight\nArchitecture: any\n' \
    >"$stage/debian/control"
depends=$(cd "$stage" && dpkg-shlibdeps -O pkg/usr/bin/redlight-api |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" \
    -e "s|@DEPENDS@|$depends|" remote/deb/control.in >"$pkg/DEBIAN/control"
echo /etc/redlight/redlight.env >"$pkg/DEBIAN/conffiles"
install -m 0755 remote/deb/postinst "$pkg/DEBIAN/postinst"

mkdir -p "$(dirname "$out")"
dpkg-deb --root-owner-group --build "$pkg" "$out" >/dev/null
echo "built $out"
