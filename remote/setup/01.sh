#!/usr/bin/env bash
# remote/setup/01.sh — turn a fresh Debian 12 or Ubuntu 24.04 server into a
# Redlight production host. Run as root:
#
#   REDLIGHT_DOMAIN=api.example.com REDLIGHT_ACME_EMAIL=ops@example.com \
#       bash 01.sh
#
# It installs the runtime libraries, PostgreSQL (role and database
# `redlight` with a generated password), Caddy, the `redlight` service user,
# a firewall that lets in SSH, HTTP and HTTPS only, and automatic security
# updates. Secrets are generated once and written to /etc/redlight/redlight.env
# (mode 0640 root:redlight) and /etc/redlight/caddy.env (0640 root:caddy);
# the metrics password (for /debug/vars and /metrics behind Caddy) is in
# /etc/redlight/metrics-password (0600 root).
#
# Idempotent: every step looks before it changes anything, and a run that
# changes nothing says so. Where no init system runs (a chroot, an image
# build) services are enabled, not started, and the script says so;
# PostgreSQL is then started only for the duration of the run, to create the
# role and the database.
set -euo pipefail

DB_NAME=redlight
DB_USER=redlight
SVC_USER=redlight
ETC=/etc/redlight
API_ENV=$ETC/redlight.env
CADDY_ENV=$ETC/caddy.env
METRICS_PW=$ETC/metrics-password
CADDY_DROPIN=/etc/systemd/system/caddy.service.d/redlight.conf
AUTO_UPGRADES=/etc/apt/apt.conf.d/20auto-upgrades

changes=()
say() { printf '01.sh: %s\n' "$*"; }
changed() {
    changes+=("$1")
    say "changed: $1"
}
die() {
    say "error: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "run as root"
[ -r /etc/os-release ] || die "no /etc/os-release: not Debian or Ubuntu"
# shellcheck source=/dev/null
. /etc/os-release
case "${ID:-}:${VERSION_ID:-}" in
debian:12) libs=(libmicrohttpd12 libpq5 libjansson4 libsodium23 libcurl4 libhiredis0.14) ;;
ubuntu:24.04) libs=(libmicrohttpd12t64 libpq5 libjansson4 libsodium23 libcurl4t64 libhiredis1.1.0) ;;
*) die "unsupported system ${PRETTY_NAME:-unknown} (want Debian 12 or Ubuntu 24.04)" ;;
esac

# A running systemd is PID 1 and has /run/systemd/system.
if [ -d /run/systemd/system ]; then
    have_init=1
else
    have_init=0
    say "no init system is running (chroot?): services will be enabled, not started"
fi

# random_token N: N random bytes as URL-safe base64 without padding.
random_token() {
    head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='
}

# --- packages -----------------------------------------------------------------
# systemd: a server has it already; a bare chroot needs it to enable units.
want=("${libs[@]}" postgresql postgresql-contrib caddy ufw unattended-upgrades
    ca-certificates curl rsync systemd)
missing=()
for pkg in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    changed "installed ${missing[*]}"
else
    say "packages: all installed"
fi

# --- service user -----------------------------------------------------------------
if ! getent passwd "$SVC_USER" >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/redlight \
        --no-create-home --shell /usr/sbin/nologin "$SVC_USER"
    changed "created system user $SVC_USER"
fi

# ensure_dir PATH MODE OWNER:GROUP
ensure_dir() {
    if [ ! -d "$1" ]; then
        install -d -m "$2" -o "${3%%:*}" -g "${3##*:}" "$1"
        changed "created $1"
        return
    fi
    if [ "$(stat -c '%a %U:%G' "$1")" != "$2 $3" ]; then
        chmod "$2" "$1"
        chown "$3" "$1"
        changed "fixed mode/owner of $1"
    fi
}
ensure_dir "$ETC" 750 "root:$SVC_USER"
ensure_dir /usr/share/redlight 755 root:root
ensure_dir /usr/share/redlight/migrations 755 root:root

# write_file PATH MODE OWNER:GROUP < content: replaces PATH only when the
# content, mode or owner differs.
write_file() {
    local tmp
    tmp=$(mktemp)
    cat >"$tmp"
    if [ -f "$1" ] && cmp -s "$tmp" "$1" &&
        [ "$(stat -c '%a %U:%G' "$1")" = "$2 $3" ]; then
        rm -f "$tmp"
        return 1
    fi
    install -D -m "$2" -o "${3%%:*}" -g "${3##*:}" "$tmp" "$1"
    rm -f "$tmp"
    changed "wrote $1"
}

# --- PostgreSQL ---------------------------------------------------------------------
pg_started=""
stop_temporary_pg() {
    if [ -n "$pg_started" ]; then
        pg_ctlcluster "$pg_started" stop || true
        say "stopped the temporary PostgreSQL cluster $pg_started"
        pg_started=""
    fi
}
trap stop_temporary_pg EXIT

cluster=$(pg_lsclusters -h | awk 'NR == 1 { print $1 "/" $2 }')
[ -n "$cluster" ] || die "no PostgreSQL cluster (pg_lsclusters is empty)"
if ! pg_lsclusters -h | awk 'NR == 1 { exit $4 == "online" ? 0 : 1 }'; then
    if [ "$have_init" = 1 ]; then
        systemctl start "postgresql@${cluster/\//-}"
        changed "started PostgreSQL $cluster"
    else
        say "starting PostgreSQL $cluster for this run only (no init system)"
        pg_ctlcluster "$cluster" start
        pg_started=$cluster
    fi
fi

psql_admin() {
    runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -tA "$@"
}

# The password: the one already in redlight.env, else a new one.
db_password=""
if [ -f "$API_ENV" ]; then
    db_password=$(sed -n \
        's|^REDLIGHT_DB_DSN=postgres://[^:]*:\([^@]*\)@.*|\1|p' "$API_ENV")
fi
new_password=0
if [ -z "$db_password" ]; then
    db_password=$(random_token 24)
    new_password=1
fi

if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER'")" != 1 ]; then
    psql_admin -c "CREATE ROLE $DB_USER LOGIN PASSWORD '$db_password'"
    changed "created PostgreSQL role $DB_USER"
elif [ "$new_password" = 1 ]; then
    psql_admin -c "ALTER ROLE $DB_USER PASSWORD '$db_password'"
    changed "set a new password for PostgreSQL role $DB_USER ($API_ENV was missing)"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
    psql_admin -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
    changed "created database $DB_NAME"
fi
if [ "$(psql_admin -d "$DB_NAME" -c "SELECT 1 FROM pg_extension WHERE extname = 'citext'")" != 1 ]; then
    psql_admin -d "$DB_NAME" -c "CREATE EXTENSION citext"
    changed "created extension citext in $DB_NAME"
fi
stop_temporary_pg

# --- /etc/redlight/redlight.env: written once -----------------------------------
if [ ! -f "$API_ENV" ] || [ "$new_password" = 1 ]; then
    write_file "$API_ENV" 640 "root:$SVC_USER" <<ENV || true
# /etc/redlight/redlight.env — read by redlight.service (EnvironmentFile=), written
# once by remote/setup/01.sh. Mode 0640 root:$SVC_USER: it holds secrets.
#
# One setting a line, REDLIGHT_<FLAG>=value (\`redlight-api -help\` names each
# variable); the value runs to the end of the line, spaces included, no
# quotes; lists take spaces or commas. No \$VARIABLE expansion; a backslash
# escapes the next character. A line here overrides redlight.service's
# defaults (REDLIGHT_ENV, REDLIGHT_TRUSTED_PROXIES, REDLIGHT_METRICS_ALLOW,
# REDLIGHT_MAIL_DIR).
REDLIGHT_DB_DSN=postgres://$DB_USER:$db_password@localhost/$DB_NAME?sslmode=disable
REDLIGHT_SMTP_PASSWORD=
REDLIGHT_JWT_SECRET=$(random_token 48)
#REDLIGHT_SMTP_HOST=smtp.example.com
#REDLIGHT_SMTP_PORT=587
#REDLIGHT_SMTP_USERNAME=apikey
#REDLIGHT_SMTP_SENDER=Redlight Team <no-reply@example.com>
#REDLIGHT_CORS_TRUSTED_ORIGINS=https://app.example.com https://admin.example.com
#REDLIGHT_LIMITER_RPS=10
ENV
elif [ "$(stat -c '%a %U:%G' "$API_ENV")" != "640 root:$SVC_USER" ]; then
    chmod 640 "$API_ENV"
    chown "root:$SVC_USER" "$API_ENV"
    changed "fixed mode/owner of $API_ENV"
fi

# --- Caddy: its settings, and a drop-in that gives them to caddy.service -------
if [ ! -f "$CADDY_ENV" ]; then
    metrics_password=$(random_token 18)
    hash=$(caddy hash-password --plaintext "$metrics_password")
    write_file "$METRICS_PW" 600 root:root <<<"$metrics_password" || true
    domain=${REDLIGHT_DOMAIN:-}
    email=${REDLIGHT_ACME_EMAIL:-}
    if [ -z "$domain" ] || [ -z "$email" ]; then
        say "REDLIGHT_DOMAIN/REDLIGHT_ACME_EMAIL not set: edit $CADDY_ENV before starting Caddy"
    fi
    write_file "$CADDY_ENV" 640 root:caddy <<ENV || true
# /etc/redlight/caddy.env — Caddy's settings for remote/production/Caddyfile.
REDLIGHT_DOMAIN=${domain:-api.example.com}
REDLIGHT_ACME_EMAIL=${email:-ops@example.com}
REDLIGHT_METRICS_USER=ops
REDLIGHT_METRICS_HASH=$hash
ENV
fi
write_file "$CADDY_DROPIN" 644 root:root <<'UNIT' || true
# Written by remote/setup/01.sh: Caddy reads the Redlight settings.
[Service]
EnvironmentFile=/etc/redlight/caddy.env
UNIT

# --- firewall: SSH, HTTP, HTTPS ----------------------------------------------------
before=$(ufw show added 2>/dev/null || true)
ufw default deny incoming >/dev/null
ufw default allow outgoing >/dev/null
for rule in 22/tcp 80/tcp 443/tcp; do
    ufw allow "$rule" >/dev/null
done
[ "$(ufw show added 2>/dev/null || true)" = "$before" ] ||
    changed "firewall rules: allow 22/tcp, 80/tcp, 443/tcp"
if ! grep -qx 'ENABLED=yes' /etc/ufw/ufw.conf; then
    if [ "$have_init" = 1 ]; then
        ufw --force enable >/dev/null
        changed "enabled the firewall"
    else
        sed -i 's/^ENABLED=.*/ENABLED=yes/' /etc/ufw/ufw.conf
        changed "enabled the firewall at next boot (no init system: not loaded now)"
    fi
fi

# --- automatic security updates ---------------------------------------------------
write_file "$AUTO_UPGRADES" 644 root:root <<'APT' || true
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT

# --- services -------------------------------------------------------------------------
for svc in postgresql caddy ufw unattended-upgrades; do
    if [ "$(systemctl is-enabled "$svc" 2>/dev/null || true)" != enabled ]; then
        systemctl enable "$svc" >/dev/null 2>&1 ||
            die "systemctl enable $svc failed"
        changed "enabled $svc"
    fi
    if [ "$have_init" = 1 ]; then
        if ! systemctl is-active --quiet "$svc"; then
            systemctl start "$svc"
            changed "started $svc"
        fi
    fi
done
if [ "$have_init" = 1 ]; then
    systemctl daemon-reload
    # Caddy picks up the drop-in; a restart is cheap and idempotent enough.
    [ "${#changes[@]}" -eq 0 ] || systemctl restart caddy
else
    say "no init system: postgresql, caddy, ufw and unattended-upgrades are enabled, not started"
fi

if [ "${#changes[@]}" -eq 0 ]; then
    say "nothing changed: the host is already provisioned"
else
    say "${#changes[@]} change(s) made"
fi
