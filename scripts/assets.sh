#!/usr/bin/env bash
# Browser assets for the workbench: htmx 2 and its WebSocket extension from the npm registry,
# pinned by package-lock.json, copied into workbench/static/vendor/ (git-ignored) so the web app
# serves them itself. Safe to run again; does nothing when the copies are current.
# Usage: scripts/assets.sh   (or source it and call ensure_web_assets)
set -euo pipefail

ensure_web_assets() {
    local root vendor
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    vendor="$root/workbench/static/vendor"
    local -A files=(
        ["$root/node_modules/htmx.org/dist/htmx.min.js"]="$vendor/htmx.min.js"
        ["$root/node_modules/htmx-ext-ws/dist/ws.min.js"]="$vendor/ws.min.js"
    )
    local stamp="$root/node_modules/.arrears-lock"
    if [ ! -f "$stamp" ] || ! cmp -s "$root/package-lock.json" "$stamp"; then
        command -v npm >/dev/null || { echo "[assets] npm is needed (Debian package: npm)" >&2; return 1; }
        echo "[assets] installing htmx from package-lock.json" >&2
        (cd "$root" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >&2)
        cp "$root/package-lock.json" "$stamp"
    fi
    mkdir -p "$vendor"
    local source
    for source in "${!files[@]}"; do
        cmp -s "$source" "${files[$source]}" || cp "$source" "${files[$source]}"
    done
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    ensure_web_assets
fi
