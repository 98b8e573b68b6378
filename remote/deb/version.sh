#!/usr/bin/env bash
# remote/deb/version.sh — prints the version of this source tree, used for
# the binary's -version and the Debian package (make: VERSION, DEB_VERSION):
#
#   1.0.0+git<commits>.<hash>[.dirty]
#
# <commits> is the number of commits reachable from HEAD, so every new commit
# on one branch sorts higher for dpkg (an upgrade, never a downgrade), and
# <hash> names the commit; ".dirty" marks uncommitted changes to tracked
# files. Fallbacks, each sorting below every full-clone build:
#   a shallow clone (the count would be its depth): 1.0.0+git0.<hash>
#   no git (a tarball):                             1.0.0
# REDLIGHT_VERSION, when set, is printed instead (the package build passes
# the changelog's version this way; tests build a "newer" package with it).
set -euo pipefail
BASE=1.0.0

valid() { [[ $1 =~ ^[0-9][A-Za-z0-9.+~]*$ ]]; }

if [ -n "${REDLIGHT_VERSION:-}" ]; then
    valid "$REDLIGHT_VERSION" || {
        echo "version.sh: REDLIGHT_VERSION=$REDLIGHT_VERSION is not a Debian" \
            "version (digits first, then letters, digits and . + ~)" >&2
        exit 1
    }
    echo "$REDLIGHT_VERSION"
    exit 0
fi

cd "$(dirname -- "${BASH_SOURCE[0]}")"
if ! hash=$(git rev-parse --short=7 HEAD 2>/dev/null); then
    echo "$BASE"
    exit 0
fi
if [ "$(git rev-parse --is-shallow-repository)" = true ]; then
    echo "version.sh: shallow clone, commit count unknown: version" \
        "$BASE+git0.$hash sorts below every full-clone build" \
        "(git fetch --unshallow fixes it)" >&2
    count=0
else
    count=$(git rev-list --count HEAD)
fi
dirty=
git update-index -q --refresh >/dev/null 2>&1 || true
git diff-index --quiet HEAD -- 2>/dev/null || dirty=.dirty
echo "$BASE+git$count.$hash$dirty"
