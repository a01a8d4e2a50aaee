# Set-up shared by ./arrears and ./run-tests: everything a fresh machine needs, done once and
# skipped when already in place. Sourced, not executed.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$ROOT/.venv"
PYTHON_BIN=${PYTHON_BIN:-python3.11}

say() { printf '[setup] %s\n' "$*" >&2; }

# Debian packages the system and its tests use: speech synthesis and audio tools for the
# answering-machine corpus and the carrier simulator's voices, an independent SIP phone for
# interop tests, Chromium for browser tests, Kamailio as the front SIP proxy in its integration test.
SYSTEM_PACKAGES=(espeak-ng sox baresip-core chromium kamailio)

ensure_system_packages() {
    local missing=()
    for package in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    # npm fetches the browser assets; any npm will do (it may come with a nodejs build, not Debian's npm).
    command -v npm >/dev/null || missing+=(npm)
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        say "missing Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})"
        return 1
    fi
    say "installing Debian packages: ${missing[*]}"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
}

ensure_venv() {
    local stamp="$VENV/.installed-from"
    local wanted
    wanted=$(sha256sum "$ROOT/pyproject.toml" | cut -d' ' -f1)
    if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$wanted" ]; then
        return 0
    fi
    say "preparing the Python environment in .venv"
    [ -x "$VENV/bin/python" ] || "$PYTHON_BIN" -m venv "$VENV"
    "$VENV/bin/pip" install -q --upgrade pip >&2
    "$VENV/bin/pip" install -q -e "$ROOT[dev]" >&2
    echo "$wanted" > "$stamp"
}

# PostgreSQL and Redis for the scale-out mode and the test suite; started when they are down.
ensure_services() {
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        say "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start >&2
        for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        say "starting Redis"
        mkdir -p /var/lib/redis /var/log/redis
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
            --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2
        for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
    fi
}

# htmx 2 and its WebSocket extension, served by the workbench from workbench/static/vendor.
ensure_assets() {
    "$ROOT/scripts/assets.sh"
}
