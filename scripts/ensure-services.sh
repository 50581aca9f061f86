#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on localhost before the tests run.
# Starts them when installed but stopped. Under CI=true a service that cannot be had is a failure;
# elsewhere the tests that need it are skipped (and say why).
set -u
PG_HOST=${TEST_PG_HOST:-127.0.0.1}
PG_PORT=${TEST_PG_PORT:-5432}
REDIS_HOST=${TEST_REDIS_HOST:-127.0.0.1}
REDIS_PORT=${TEST_REDIS_PORT:-6379}
ci=false
case "${CI:-}" in 1|true|TRUE|yes) ci=true ;; esac

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_up() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }

wait_for() { # name check-fn
  for _ in $(seq 1 30); do "$2" && return 0; sleep 0.5; done
  return 1
}

missing=()
if pg_up; then
  echo "services: PostgreSQL answers on $PG_HOST:$PG_PORT"
else
  if command -v pg_ctlcluster >/dev/null 2>&1 && ls /etc/postgresql >/dev/null 2>&1; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "services: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>&1 | sed 's/^/  /' || true
  elif command -v pg_ctl >/dev/null 2>&1 && [ -n "${PGDATA:-}" ]; then
    pg_ctl -D "$PGDATA" -l "$PGDATA/server.log" start || true
  fi
  wait_for postgres pg_up && echo "services: PostgreSQL started" || missing+=("PostgreSQL on $PG_HOST:$PG_PORT")
fi

if redis_up; then
  echo "services: Redis answers on $REDIS_HOST:$REDIS_PORT"
else
  if command -v redis-server >/dev/null 2>&1; then
    echo "services: starting Redis"
    mkdir -p /tmp/sniper-bot-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir /tmp/sniper-bot-redis --logfile /tmp/sniper-bot-redis/redis.log || true
  fi
  wait_for redis redis_up && echo "services: Redis started" || missing+=("Redis on $REDIS_HOST:$REDIS_PORT")
fi

# pg_dump, for the test that searches a whole dump for secrets: Debian's postgresql-client keeps it
# in /usr/lib/postgresql/N/bin, off PATH (the tests look there too). Under CI=true, installed if absent.
pg_dump_found() {
  command -v pg_dump >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/pg_dump" >/dev/null
}
if pg_dump_found; then
  echo "services: pg_dump found"
else
  if $ci && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "services: installing postgresql-client (pg_dump)"
    { apt-get install -y -q postgresql-client || { apt-get update -q && apt-get install -y -q postgresql-client; }; } \
      >/tmp/sniper-bot-apt.log 2>&1 || true
  fi
  pg_dump_found && echo "services: pg_dump installed" || missing+=("pg_dump (package postgresql-client)")
fi

# promtool and amtool, for the alert rule and Alertmanager tests (tests/deploy/test_alerts.py): Debian's
# prometheus and prometheus-alertmanager packages. Under CI=true, installed if absent (the packages'
# services are not started: Debian's policy-rc.d in containers, and nothing here starts them).
prom_tool_found() { command -v promtool >/dev/null 2>&1 && command -v amtool >/dev/null 2>&1; }
if prom_tool_found; then
  echo "services: promtool and amtool found"
else
  if $ci && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "services: installing prometheus and prometheus-alertmanager (promtool, amtool)"
    pkgs="prometheus prometheus-alertmanager"
    { apt-get install -y -q --no-install-recommends $pkgs || { apt-get update -q && apt-get install -y -q --no-install-recommends $pkgs; }; } \
      >>/tmp/sniper-bot-apt.log 2>&1 || true
  fi
  prom_tool_found && echo "services: promtool and amtool installed" \
    || missing+=("promtool/amtool (packages prometheus, prometheus-alertmanager)")
fi

# nginx, the reverse proxy in front of the webhook replicas (tests/replicas, tests/support/replicas.py):
# Debian's nginx package, run by the tests as a private master process on their own config (the
# package's service is not started). Under CI=true, installed if absent.
nginx_found() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }
if nginx_found; then
  echo "services: nginx found"
else
  if $ci && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "services: installing nginx"
    { apt-get install -y -q --no-install-recommends nginx || { apt-get update -q && apt-get install -y -q --no-install-recommends nginx; }; } \
      >>/tmp/sniper-bot-apt.log 2>&1 || true
  fi
  nginx_found && echo "services: nginx installed" || missing+=("nginx (package nginx)")
fi

if [ ${#missing[@]} -gt 0 ]; then
  for m in "${missing[@]}"; do echo "services: NOT AVAILABLE: $m" >&2; done
  if $ci; then
    echo "services: CI=true, so a missing service is a failure" >&2
    exit 1
  fi
  echo "services: tests that need them will be skipped (set CI=true to fail instead)" >&2
fi
exit 0
