#!/usr/bin/env bash
# Runs every test of the relay. On a fresh Debian machine it first installs what the tests need:
# Debian's libsecp256k1 (signature verification) and liblmdb0 (the Lmdb store), Debian's PostgreSQL and MariaDB (the Postgres and MySql stores'
# tests run against real servers, started here), Debian's chromium (the landing page is tested in a real browser), the nostr-tools
# test client and playwright-core (npm ci, Node >= 20.19).
# Set RELAY_TEST_POSTGRES or RELAY_TEST_MYSQL to a connection string to test against a server of your own instead.
# Ends with "N passed, N failed"; exits non-zero when a test failed.
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else (cd / && sudo -u postgres "$@"); fi; }

if ! ldconfig -p | grep -q 'libsecp256k1\.so\.1 '; then
  echo "== installing libsecp256k1-1 (Debian)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq libsecp256k1-1 >/dev/null
fi
# The Lmdb store binds Debian's LMDB (liblmdb.so.0).
if ! ldconfig -p | grep -q 'liblmdb\.so\.0 '; then
  echo "== installing liblmdb0 (Debian)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq liblmdb0 >/dev/null
fi

# Installs PostgreSQL when missing, starts its first cluster when it is down, and makes the test role and
# database. Started with setsid: in its own session the server outlives this script's process group (a
# server left in the group gets a fast shutdown when a job runner ends the group).
start_postgres() {
  if ! command -v pg_lsclusters >/dev/null || ! command -v psql >/dev/null; then
    echo "== installing PostgreSQL (Debian)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
  fi
  local cluster version name port status
  cluster=$(pg_lsclusters --no-header | head -1)
  if [ -z "$cluster" ]; then
    version=$(ls /usr/lib/postgresql | sort -n | tail -1)
    echo "== creating PostgreSQL cluster $version/main"
    as_root pg_createcluster "$version" main >/dev/null
    cluster=$(pg_lsclusters --no-header | head -1)
  fi
  read -r version name port status _ <<<"$cluster"
  if [[ "$status" != online* ]]; then
    echo "== starting PostgreSQL $version/$name on port $port"
    # /var/run is a tmpfs on many machines; the socket directory may be gone since the package made it.
    as_root install -d -o postgres -g postgres -m 2775 /var/run/postgresql
    as_postgres setsid -w pg_ctlcluster "$version" "$name" start </dev/null
  fi
  for _ in $(seq 1 60); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 0.5
  done
  pg_isready -h 127.0.0.1 -p "$port" || { echo "PostgreSQL $version/$name did not become ready; see /var/log/postgresql/" >&2; exit 1; }
  if [ "$(as_postgres psql -p "$port" -qtAc "SELECT 1 FROM pg_roles WHERE rolname = 'relay'")" != 1 ]; then
    as_postgres psql -p "$port" -q -v ON_ERROR_STOP=1 -c "CREATE ROLE relay LOGIN CREATEDB PASSWORD 'relay'"
  fi
  if [ "$(as_postgres psql -p "$port" -qtAc "SELECT 1 FROM pg_database WHERE datname = 'relay_tests'")" != 1 ]; then
    as_postgres createdb -p "$port" -O relay relay_tests
  fi
  export RELAY_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=relay;Password=relay;Database=relay_tests"
}
if [ -z "${RELAY_TEST_POSTGRES:-}" ]; then start_postgres; fi

# Installs MariaDB when missing, starts it when it is down (mysqld_safe, in its own session like PostgreSQL), and
# makes the test user, which creates and drops a database per test.
start_mariadb() {
  if [ ! -x /usr/sbin/mariadbd ]; then
    echo "== installing MariaDB (Debian)"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq mariadb-server >/dev/null
  fi
  # mysqladmin ping succeeds when the server answers, even when it refuses this user.
  if ! mysqladmin ping --silent >/dev/null 2>&1; then
    echo "== starting MariaDB"
    # A machine image may come without /run and /var/log's contents: make the folders the server writes to.
    as_root install -d -o mysql -g mysql -m 755 /run/mysqld
    as_root install -d -o mysql -g adm -m 2750 /var/log/mysql
    if [ ! -d /var/lib/mysql/mysql ]; then
      echo "== initialising MariaDB's data folder"
      as_root install -d -o mysql -g mysql -m 755 /var/lib/mysql
      as_root mariadb-install-db --user=mysql --datadir=/var/lib/mysql --skip-test-db >/dev/null
    fi
    # Debian's mysqld_safe logs to syslog, which a container has not: keep the server's own log in a file.
    local log=/var/log/mysql/error.log
    (cd / && as_root setsid /usr/bin/mysqld_safe --user=mysql --skip-syslog --log-error="$log" </dev/null >/dev/null 2>&1 &)
    for _ in $(seq 1 120); do
      mysqladmin ping --silent >/dev/null 2>&1 && break
      sleep 0.5
    done
    if ! mysqladmin ping --silent >/dev/null 2>&1; then
      echo "MariaDB did not become ready in 60 s; the end of $log:" >&2
      as_root tail -n 30 "$log" >&2 || true
      exit 1
    fi
  fi
  as_root mysql -e "CREATE USER IF NOT EXISTS 'relay'@'localhost' IDENTIFIED BY 'relay'; CREATE USER IF NOT EXISTS 'relay'@'127.0.0.1' IDENTIFIED BY 'relay';
    GRANT ALL PRIVILEGES ON *.* TO 'relay'@'localhost'; GRANT ALL PRIVILEGES ON *.* TO 'relay'@'127.0.0.1';"
  export RELAY_TEST_MYSQL="Server=127.0.0.1;Port=3306;User ID=relay;Password=relay"
}
if [ -z "${RELAY_TEST_MYSQL:-}" ]; then start_mariadb; fi

# A real browser for the landing page's test: Debian's chromium, driven by playwright-core from npm (tests/js).
if ! command -v chromium >/dev/null; then
  echo "== installing chromium (Debian)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi

echo "== checking Node for the nostr-tools test client"
command -v node >/dev/null || { echo "Node.js >= 20.19 is required for the test client (tests/js); it is not installed." >&2; exit 1; }
node tests/js/check-node.mjs
if [ ! -d tests/js/node_modules ] || [ tests/js/package-lock.json -nt tests/js/node_modules/.package-lock.json ]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi

results=TestResults
rm -rf "$results"
echo "== building"
dotnet build Orleans.sln -c Release -nologo -v quiet
# The cluster tests run the relay from the folder deploy/Dockerfile's `dotnet publish` makes for the image.
dotnet publish src/Silo -c Release --no-build -nologo -v quiet -o artifacts/silo
export RELAY_TEST_PUBLISHED_SILO=artifacts/silo
echo "== testing"
status=0
# One project at a time: each writes its own results file, and the end-to-end relays get the cores to themselves.
for project in tests/*/*.Tests.csproj; do
  name=$(basename "$project" .csproj)
  dotnet test "$project" -c Release --no-build --nologo --logger "trx;LogFileName=$name.trx" --results-directory "$results" "$@" || status=$?
done

passed=0
failed=0
shopt -s nullglob
for trx in "$results"/*.trx; do
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test failed without a test failure (build or host error)"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
