#!/usr/bin/env bash
# remote/deb/build.sh OUTDIR [VERSION] — builds OUTDIR/redlight_VERSION_ARCH.deb
# with dpkg-buildpackage and debhelper (make deb). VERSION defaults to what
# remote/deb/version.sh prints.
#
# The package is built in a staging copy of the sources (Makefile, cmd,
# internal, migrations, remote, README.md) with remote/deb/debian as its
# debian/, so the package build (-DRL_MIGRATIONS_DIR of its own) never
# mixes objects with the working tree's build/. debian/changelog is written
# here with the version. The dpkg-buildpackage log is kept as
# OUTDIR/redlight_VERSION_ARCH.build.log; the path of the .deb is the last
# line of stdout.
set -euo pipefail
out=${1:?usage: build.sh OUTDIR [VERSION]}
cd "$(dirname -- "${BASH_SOURCE[0]}")/../.."
version=${2:-$(remote/deb/version.sh)}
REDLIGHT_VERSION=$version remote/deb/version.sh >/dev/null # validates it
arch=$(dpkg --print-architecture)
mkdir -p "$out"
out=$(cd "$out" && pwd -P)

stage=$(mktemp -d "$out/.stage.XXXXXX")
trap 'rm -rf -- "$stage"' EXIT
src=$stage/redlight-$version
mkdir "$src"
cp -a Makefile README.md cmd internal migrations remote "$src/"
cp -rL remote/deb/debian "$src/debian"

# One changelog entry for this build, dated by its commit (reproducible).
if commit=$(git rev-parse HEAD 2>/dev/null); then
    when=$(git log -1 --format=%ct HEAD)
    what="Built from commit $commit."
else
    when=${SOURCE_DATE_EPOCH:-$(date +%s)}
    what="Built from a source tree without git."
fi
cat >"$src/debian/changelog" <<CHANGELOG
redlight ($version) unstable; urgency=medium

  * $what

 -- Redlight developers <ops@redlight.invalid>  $(LC_ALL=C date -u -R -d "@$when")
CHANGELOG

log=$out/redlight_${version}_$arch.build.log
if ! (cd "$src" && dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "deb: dpkg-buildpackage failed (whole log: $log)" >&2
    exit 1
fi
deb=redlight_${version}_$arch.deb
mv "$stage/$deb" "$out/$deb"
echo "$out/$deb"
