#!/usr/bin/env bash
# Start (idempotently) every server OpenCommerce needs on a machine of this
# kind, install the tools its tests use, and fail naming what is missing.
#   scripts/deps.sh          servers only
#   scripts/deps.sh --run    servers + a local mail catcher (make run)
#   scripts/deps.sh --test   servers + test tools (make test)
set -uo pipefail

want_tools=0 want_mail=0
[ "${1:-}" = "--test" ] && want_tools=1
[ "${1:-}" = "--run" ] && want_mail=1
missing=()
log() { printf 'deps: %s\n' "$*" >&2; }

wait_for() { # name, tries, command...
  local name=$1 tries=$2; shift 2
  for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# PostgreSQL
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ls /etc/postgresql >/dev/null 2>&1; then
    log "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start 2>&1 | sed 's/^/deps: /' >&2
  fi
  wait_for postgres 30 pg_isready -q -h 127.0.0.1 -p 5432 || missing+=("PostgreSQL on 127.0.0.1:5432 (pg_ctlcluster ... main start)")
fi

# Integration tests run in parallel, each starting the platform (five
# pools and their listeners): the default of 100 connections is too few.
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  maxc=$(psql -h 127.0.0.1 -U postgres -Atc 'SHOW max_connections' 2>/dev/null || echo 0)
  if [ "${maxc:-0}" -lt 400 ]; then
    log "raising PostgreSQL max_connections to 500 (was $maxc) and restarting it"
    psql -h 127.0.0.1 -U postgres -qc 'ALTER SYSTEM SET max_connections = 500' >/dev/null 2>&1
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main restart 2>&1 | sed 's/^/deps: /' >&2
    wait_for postgres 30 pg_isready -q -h 127.0.0.1 -p 5432 || missing+=("PostgreSQL after restart")
  fi
fi

# Redis
if ! port_open 6379; then
  if command -v redis-server >/dev/null; then
    log "starting Redis"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log >/dev/null
  fi
  wait_for redis 20 port_open 6379 || missing+=("Redis on 127.0.0.1:6379 (redis-server)")
fi

# RabbitMQ (+ the management plugin: tests make a vhost each and kill connections through it)
if ! port_open 5672; then
  if command -v rabbitmq-server >/dev/null; then
    log "starting RabbitMQ"
    rabbitmq-server -detached >/dev/null 2>&1
  fi
  wait_for rabbitmq 90 port_open 5672 || missing+=("RabbitMQ on 127.0.0.1:5672 (rabbitmq-server -detached)")
fi
if port_open 5672 && ! port_open 15672; then
  if command -v rabbitmq-plugins >/dev/null; then
    log "enabling the RabbitMQ management plugin"
    wait_for rabbitmq-plugins 60 rabbitmq-plugins enable rabbitmq_management
  fi
  wait_for rabbitmq-management 60 port_open 15672 || missing+=("RabbitMQ management API on 127.0.0.1:15672 (rabbitmq-plugins enable rabbitmq_management)")
fi

# NATS with JetStream
if ! port_open 4222; then
  if [ -x /usr/sbin/nats-server ]; then
    log "starting NATS"
    mkdir -p /var/lib/nats-server
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
      -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  fi
  wait_for nats 20 port_open 4222 || missing+=("NATS on 127.0.0.1:4222 (nats-server -js)")
fi

gobin=$(go env GOPATH)/bin
if [ "$want_tools" = 1 ] || [ "$want_mail" = 1 ]; then
  # Mailpit: a real SMTP server with an HTTP API and a web inbox, for the
  # notification tests and for reading the shop's emails under make run.
  if ! command -v mailpit >/dev/null && [ ! -x "$gobin/mailpit" ]; then
    log "installing mailpit"
    go install github.com/axllent/mailpit@v1.33.1 >&2 || missing+=("mailpit (go install github.com/axllent/mailpit@v1.33.1)")
  fi
fi

# make run: a Mailpit on the platform's default SMTP address (127.0.0.1:1025)
# with its web inbox on 127.0.0.1:8025, unless something already listens.
if [ "$want_mail" = 1 ]; then
  if ! port_open 1025; then
    mp=$(command -v mailpit || echo "$gobin/mailpit")
    if [ -x "$mp" ]; then
      log "starting Mailpit (SMTP 127.0.0.1:1025)"
      mkdir -p /var/lib/mailpit
      setsid "$mp" --smtp 127.0.0.1:1025 --listen 127.0.0.1:8025 --database /var/lib/mailpit/mailpit.db \
        >/var/log/mailpit.log 2>&1 < /dev/null &
      wait_for mailpit 20 port_open 1025 || missing+=("Mailpit on 127.0.0.1:1025 (see /var/log/mailpit.log)")
    fi
  fi
  port_open 8025 && log "emails: read them at http://127.0.0.1:8025 (Mailpit)"
fi

if [ "$want_tools" = 1 ]; then
  # wrk drives the gateway benchmark's out-of-process table (tools/edgebench).
  if ! command -v wrk >/dev/null; then
    log "installing wrk"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk) >/dev/null 2>&1 \
      || missing+=("wrk (apt-get install wrk)")
  fi
  # promtool checks the Prometheus configuration and rules.
  if ! command -v promtool >/dev/null; then
    log "installing prometheus (promtool)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus) >/dev/null 2>&1 \
      || missing+=("promtool (apt-get install prometheus)")
    # The package starts a server on :9090, the admin port of our processes.
    pkill -x prometheus 2>/dev/null || true
  fi
  # Redocly CLI lints the OpenAPI document (make lint), from npm.
  if ! command -v npm >/dev/null; then
    log "installing nodejs and npm"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm) >/dev/null 2>&1 \
      || missing+=("npm (apt-get install nodejs npm)")
  fi
  "$(dirname "$0")/lint-openapi.sh" --install || missing+=("Redocly CLI (scripts/lint-openapi.sh --install)")
fi

if [ ${#missing[@]} -gt 0 ]; then
  log "MISSING — cannot continue:"
  for m in "${missing[@]}"; do log "  - $m"; done
  exit 1
fi
log "PostgreSQL, Redis, RabbitMQ (management), NATS: up"
