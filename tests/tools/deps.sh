#!/usr/bin/env bash
# deps.sh PKG... — install the listed Debian packages that are not installed yet.
#
# Quiet when everything is already there. Otherwise one `apt-get update`, then
# one non-interactive `apt-get install --no-install-recommends` of the missing
# packages, through sudo when not root.
#
# Installing `postgresql` makes Debian create (and try to start) its default
# cluster 15/main; Redlight never uses it: its clusters are made by pgcluster.sh.
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: deps.sh PKG..." >&2
    exit 2
fi

missing=()
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done
[ "${#missing[@]}" -eq 0 ] && exit 0

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
        echo "deps: not root and no sudo: install these as root: ${missing[*]}" >&2
        exit 1
    fi
    as_root=(sudo)
fi

echo "deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
