#!/usr/bin/env bash
# Local demo: a MariaDB master + two replicas on loopback and rwsplit in front of them on
# 127.0.0.1:3306 (override with RWSPLIT_LISTEN=host:port). Runs the proxy in the foreground;
# Ctrl-C stops it, `scripts/cluster.sh down` stops the cluster.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export PATH="$PATH:/usr/sbin:/sbin"
if ! command -v mariadbd >/dev/null 2>&1; then
    RWSPLIT_TEST_CMD=true scripts/test.sh >/dev/null   # installs the packages, nothing else
fi
export RWSPLIT_CLUSTER_DIR=${RWSPLIT_CLUSTER_DIR:-$ROOT/.cluster}
scripts/cluster.sh up
# shellcheck disable=SC1091
source "$RWSPLIT_CLUSTER_DIR/env"
listen=${RWSPLIT_LISTEN:-127.0.0.1:3306}
config="$RWSPLIT_CLUSTER_DIR/proxy.toml"
scripts/cluster.sh proxy-toml "$listen" >"$config"
export APP_DB_PASSWORD=$APP_PASSWORD RWSPLIT_MONITOR_PASSWORD=$MONITOR_PASSWORD
echo "rwsplit on $listen — try: mariadb -h${listen%:*} -P${listen##*:} -u$APP_USER -p$APP_PASSWORD -e 'SELECT @@server_id'"
cargo build --release --quiet
exec target/release/rwsplit --config "$config"
