#!/usr/bin/env bash
# The project's single test command: scripts/test.sh [extra args for cargo nextest run / cargo test]
#
# 1. Installs MariaDB (server + client), sysbench, openssl, and PHP (php-cli, php-mysql: mysqli and
#    PDO on mysqlnd) with WordPress and its default theme (tests/php.rs) with apt-get if any of
#    them is missing, and nodejs + npm if `node` or `npm` is missing. Then the drivers of
#    tests/drivers.rs and the session tests: Node's mysql2 (`npm ci` in tests/clients/node, from
#    its package-lock.json), PyMySQL and mysql-connector-python 8.4.0 (pip). Builds the Debian
#    package with cargo-deb (installs cargo-deb 3.8.0 if missing) for tests/package.rs and
#    exports its path as RWSPLIT_DEB.
# 2. Starts throw-away MariaDB GTID clusters (scripts/cluster.sh up: master + 2 replicas, and a
#    second master + 1 replica for the [[clusters]] tests) and exports
#    RWSPLIT_CLUSTER_ENV (its env file: ports, sockets, users) and RWSPLIT_CLUSTER_DIR (so tests
#    can run `scripts/cluster.sh stop-node master` etc.).
# 3. Runs `cargo nextest run --no-fail-fast` if cargo-nextest is installed, else `cargo test`.
# 4. Always tears the cluster down, and exits with the tests' status.
#
# Environment:
#   RWSPLIT_CLUSTER_DIR   where the cluster lives (default: a fresh directory under /tmp)
#   RWSPLIT_KEEP_CLUSTER  1 = leave the cluster running afterwards (for poking at it)
#   RWSPLIT_TEST_CMD      run this shell command (plus the extra args) instead of cargo
#   RWSPLIT_SKIP_INSTALL  1 = never call apt-get
#   RWSPLIT_FORCE_INSTALL 1 = call apt-get install even if everything is on PATH
#   RWSPLIT_SKIP_DEB      1 = don't build the Debian package (tests/package.rs skips; fails in CI)
#   RWSPLIT_DEB_PROFILE   cargo profile of that package: dev (default, reuses the test build) or deb
set -euo pipefail

export PATH="$PATH:/usr/sbin:/sbin"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

phase() { printf '\n==> [%s +%ss] %s\n' "$(date -u +%H:%M:%S)" "$SECONDS" "$*"; }

# --- 1. dependencies ----------------------------------------------------------------------------
missing=()
for bin in mariadbd mariadb-install-db mariadb mariadb-admin sysbench openssl; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
# tests/php.rs: real PHP clients (mysqli and PDO, both on mysqlnd) and a WordPress site served by
# `php -S`. Debian's wordpress package ships no theme (the default one is only recommended), and
# without a theme the front page is empty.
WP_THEME=/usr/share/wordpress/wp-content/themes/twentytwentythree/style.css
php_ready() {
    command -v php >/dev/null 2>&1 &&
        php -r 'exit(extension_loaded("mysqli") && extension_loaded("pdo_mysql") ? 0 : 1);' >/dev/null 2>&1 &&
        [[ -f /usr/share/wordpress/wp-settings.php && -f $WP_THEME ]]
}
php_ready || missing+=(php-mysql/wordpress)
packages=(mariadb-server mariadb-client sysbench openssl
    php-cli php-mysql wordpress wordpress-theme-twentytwentythree)
# tests/drivers.rs: Node for the mysql2 scenarios (Debian 12's nodejs is 18, npm 9). Only when
# missing: a machine with another Node build (one that bundles npm) keeps it.
node_ready() { command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; }
if ! node_ready; then
    missing+=(node/npm)
    packages+=(nodejs npm)
fi

as_root() {
    if [[ $(id -u) == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "need root (or sudo) to run: $*" >&2
        return 1
    fi
}

if [[ ${RWSPLIT_SKIP_INSTALL:-} != 1 ]] && { ((${#missing[@]} > 0)) || [[ ${RWSPLIT_FORCE_INSTALL:-} == 1 ]]; }; then
    phase "installing ${packages[*]} (missing: ${missing[*]:-none})"
    # Keep the packages' postinst from starting a system MariaDB or Apache (wordpress depends on
    # apache2 | httpd) we don't use: the tests run their own servers on free ports. Only if no
    # policy is in place already.
    policy_added=
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        if as_root sh -c 'printf "#!/bin/sh\nexit 101\n" >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d'; then
            policy_added=1
        fi
    fi
    rc=0
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
    if ((rc == 0)); then
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 \
            --no-install-recommends "${packages[@]}" || rc=$?
    fi
    if [[ -n $policy_added ]]; then
        as_root rm -f /usr/sbin/policy-rc.d || true
    fi
    ((rc == 0)) || { echo "package installation failed (rc=$rc)" >&2; exit "$rc"; }

    # If a system MariaDB was started anyway (pre-existing policy, systemd), stop it: it costs
    # RAM and CPU on a 2-core runner and the tests never use it.
    if [[ -s /run/mysqld/mysqld.pid ]] && kill -0 "$(cat /run/mysqld/mysqld.pid)" 2>/dev/null; then
        phase "stopping the system MariaDB service started by the package"
        if [[ -d /run/systemd/system ]]; then
            as_root systemctl stop mariadb || true
        elif command -v service >/dev/null 2>&1; then
            as_root service mariadb stop || true
        fi
    fi
    for pidfile in /run/apache2/apache2.pid /var/run/apache2/apache2.pid; do
        if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            phase "stopping the Apache service started by the wordpress package"
            if [[ -d /run/systemd/system ]]; then
                as_root systemctl stop apache2 || true
            elif command -v service >/dev/null 2>&1; then
                as_root service apache2 stop || true
            fi
            break
        fi
    done
fi

for bin in mariadbd mariadb-install-db mariadb mariadb-admin sysbench openssl; do
    command -v "$bin" >/dev/null 2>&1 || { echo "$bin still not found after installation" >&2; exit 1; }
done
if [[ ${RWSPLIT_SKIP_INSTALL:-} != 1 ]] && ! php_ready; then
    echo "php (mysqli, pdo_mysql) or WordPress with $WP_THEME still missing after installation" >&2
    exit 1
fi
if [[ ${RWSPLIT_SKIP_INSTALL:-} != 1 ]] && ! node_ready; then
    echo "node or npm still missing after installation" >&2
    exit 1
fi

# tests/drivers.rs: Node's mysql2, the version tests/clients/node/package-lock.json pins, into
# tests/clients/node/node_modules (git-ignored). `npm ci` installs exactly the lock file.
NODE_CLIENT=$ROOT/tests/clients/node
if node_ready; then
    want=$(cd "$NODE_CLIENT" && node -p "require('./package-lock.json').packages['node_modules/mysql2'].version")
    have=$(cd "$NODE_CLIENT" && node -p "try { require('./node_modules/mysql2/package.json').version } catch (e) { '' }")
    if [[ $have != "$want" ]]; then
        phase "installing mysql2 $want (npm ci in tests/clients/node; found: ${have:-none})"
        (cd "$NODE_CLIENT" && npm ci --no-audit --no-fund --loglevel=error) ||
            { echo "npm ci in $NODE_CLIENT failed" >&2; exit 1; }
    fi
fi

# PyMySQL: the second real client of the session-semantics tests (pure Python, from PyPI).
if ! python3 -c 'import pymysql' >/dev/null 2>&1; then
    phase "installing PyMySQL"
    python3 -m pip install --quiet --disable-pip-version-check pymysql ||
        { echo "pip install pymysql failed" >&2; exit 1; }
fi

# mysql-connector-python: tests/drivers.rs, pure Python (use_pure=True; 9.x's C extension needs a
# newer OpenSSL than Debian 12 has, and the scenarios pin this version's behaviour).
if ! python3 -c 'import sys, mysql.connector; sys.exit(mysql.connector.__version__ != "8.4.0")' >/dev/null 2>&1; then
    phase "installing mysql-connector-python 8.4.0"
    python3 -m pip install --quiet --disable-pip-version-check mysql-connector-python==8.4.0 ||
        { echo "pip install mysql-connector-python==8.4.0 failed" >&2; exit 1; }
fi

# tests/package.rs: the Debian package, built with cargo-deb (pinned; installed once into
# ~/.cargo/bin) and named to the tests in RWSPLIT_DEB. RWSPLIT_DEB_PROFILE picks the cargo profile:
# `dev` (default) reuses the binary the tests build anyway (seconds); `deb` is what a release
# ships (`cargo deb` alone: optimized, stripped; ~5 min more on 2 cores). The packaging checked
# is the same either way. (cargo-deb 3.8 warns that the dev profile "will be a hard error in the
# future": a newer cargo-deb would need a custom profile that inherits dev, built separately.)
CARGO_DEB_VERSION=3.8.0
if [[ ${RWSPLIT_SKIP_DEB:-} != 1 ]]; then
    if ! cargo deb --version >/dev/null 2>&1 && [[ ${RWSPLIT_SKIP_INSTALL:-} != 1 ]]; then
        phase "installing cargo-deb $CARGO_DEB_VERSION"
        cargo install cargo-deb --version "$CARGO_DEB_VERSION" --locked --quiet ||
            { echo "cargo install cargo-deb failed" >&2; exit 1; }
    fi
    if cargo deb --version >/dev/null 2>&1; then
        deb_profile=${RWSPLIT_DEB_PROFILE:-dev}
        deb_args=(--locked --profile "$deb_profile" --output "${CARGO_TARGET_DIR:-$ROOT/target}/debian-test/")
        [[ $deb_profile == dev ]] && deb_args+=(--fast)
        phase "building the Debian package: cargo deb ${deb_args[*]}"
        rm -rf "${CARGO_TARGET_DIR:-$ROOT/target}/debian-test"
        deb_out=$(cargo deb "${deb_args[@]}") || { echo "cargo deb failed" >&2; exit 1; }
        RWSPLIT_DEB=$(printf '%s\n' "$deb_out" | tail -n1)
        export RWSPLIT_DEB
        echo "RWSPLIT_DEB=$RWSPLIT_DEB"
    else
        echo "cargo-deb not installed (RWSPLIT_SKIP_INSTALL=1): tests/package.rs will skip, or fail in CI" >&2
    fi
fi

# --- 2. cluster ---------------------------------------------------------------------------------
start_marker=$(mktemp /tmp/rwsplit-test-start.XXXXXX)
tmp_root=
if [[ -z ${RWSPLIT_CLUSTER_DIR:-} ]]; then
    tmp_root=$(mktemp -d /tmp/rwsplit-test.XXXXXX)
    RWSPLIT_CLUSTER_DIR=$tmp_root/cluster
fi
export RWSPLIT_CLUSTER_DIR
export RWSPLIT_CLUSTER_ENV=$RWSPLIT_CLUSTER_DIR/env

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ ${RWSPLIT_KEEP_CLUSTER:-} == 1 ]]; then
        phase "leaving the cluster running (RWSPLIT_KEEP_CLUSTER=1): $RWSPLIT_CLUSTER_ENV"
    else
        phase "tearing down the cluster"
        "$ROOT/scripts/cluster.sh" down || true
        if [[ -n $tmp_root ]]; then rm -rf "$tmp_root"; fi
        # Tests that kill servers start private clusters under $CARGO_TARGET_TMPDIR/cluster-* and
        # stop them on drop; a test process killed mid-way leaves them running, so sweep the ones
        # this run created.
        local d
        for d in "${CARGO_TARGET_DIR:-$ROOT/target}"/tmp/cluster-*; do
            if [[ -f $d/master/my.cnf && $d/master/my.cnf -nt $start_marker ]]; then
                echo "stopping leftover private cluster $d"
                RWSPLIT_CLUSTER_DIR=$d "$ROOT/scripts/cluster.sh" down || true
            fi
        done
    fi
    rm -f "$start_marker"
    phase "done, exit status $rc"
    exit "$rc"
}
# The tests run as a background child so a signal to this script is handled at once (bash defers
# traps while a foreground command runs): pass SIGTERM on to the test runner, then tear down.
# (SIGTERM rather than SIGINT: background commands of a non-interactive shell ignore SIGINT.)
child=
# shellcheck disable=SC2317  # invoked via trap
on_signal() {
    if [[ -n $child ]]; then
        kill -TERM "$child" 2>/dev/null || true
        wait "$child" 2>/dev/null || true
    fi
    exit "$1"
}
trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM

phase "starting MariaDB cluster in $RWSPLIT_CLUSTER_DIR"
"$ROOT/scripts/cluster.sh" up
"$ROOT/scripts/cluster.sh" status
echo "RWSPLIT_CLUSTER_ENV=$RWSPLIT_CLUSTER_ENV"

# --- 3. tests -----------------------------------------------------------------------------------
if [[ -n ${RWSPLIT_TEST_CMD:-} ]]; then
    test_cmd=(bash -c "$RWSPLIT_TEST_CMD \"\$@\"" rwsplit-test "$@")
elif cargo nextest --version >/dev/null 2>&1; then
    test_cmd=(cargo nextest run --no-fail-fast "$@")
else
    test_cmd=(cargo test --no-fail-fast "$@")
fi
phase "running: ${test_cmd[*]}"
"${test_cmd[@]}" &
child=$!
status=0
wait "$child" || status=$?
child=
phase "tests finished with status $status"
exit "$status"
