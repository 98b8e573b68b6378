#!/usr/bin/env bash
# npm-tool.sh TOOL [ARG...] — run a pinned npm command-line tool.
#
# TOOL names a folder tests/tools/npm/TOOL/ holding a package.json and its
# package-lock.json (committed: the exact versions and their integrity
# hashes); the tool's command has the same name (node_modules/.bin/TOOL).
# The first run, or a run after the lock file changed, installs it with
# `npm ci` into build/npm/TOOL/ (npm's own cache makes later installs work
# offline); every run then executes it with the given arguments.
#
# Needs Node.js and npm (Debian: nodejs, plus npm where nodejs does not
# bring it); the tools' own engines say which Node.js (20.19 or later).
set -euo pipefail

if [ "$#" -lt 1 ]; then
    echo "usage: npm-tool.sh TOOL [ARG...]" >&2
    exit 2
fi
tool=$1
shift
root=$(cd "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
src=$root/tests/tools/npm/$tool
dest=$root/build/npm/$tool
case $tool in
*[!a-z0-9-]* | '')
    echo "npm-tool: bad tool name: $tool" >&2
    exit 2
    ;;
esac
if [ ! -f "$src/package-lock.json" ]; then
    echo "npm-tool: no such tool: $tool (no $src/package-lock.json)" >&2
    exit 2
fi
if ! command -v npm >/dev/null 2>&1; then
    "$root/tests/tools/deps.sh" npm
fi
# The stamp is written only after a complete install: an interrupted one is
# redone on the next run.
if ! cmp -s "$src/package-lock.json" "$dest/.installed"; then
    echo "npm-tool: installing $tool from $src/package-lock.json" >&2
    rm -rf "$dest"
    mkdir -p "$dest"
    cp "$src/package.json" "$src/package-lock.json" "$dest/"
    (cd "$dest" && npm ci --prefer-offline --no-audit --no-fund \
        --loglevel=error >&2)
    cp "$src/package-lock.json" "$dest/.installed"
fi
# No telemetry and no update notices from the tools (Redocly reads these).
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
exec "$dest/node_modules/.bin/$tool" "$@"
