#!/usr/bin/env bash
# Runs a real single-node Apache Kafka (KRaft) and a real PostgreSQL cluster for development
# and CI, without Docker. Everything lives under REX_HOME (default: <repo>/.rex, git-ignored).
#
#   rexinfra.sh install | up | down | status
#   rexinfra.sh kafka-start | kafka-stop | kafka-status
#   rexinfra.sh pg-start | pg-stop | pg-status
#   rexinfra.sh create-schemas <schema>...
#
# Environment: REX_HOME, KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093),
# KAFKA_NUM_PARTITIONS (3), KAFKA_HEAP (512m), KAFKA_START_TIMEOUT (90), KAFKA_VERSION
# (default: the one in kafka/pom.xml), PG_PORT (5433), PG_BIN (directory with initdb),
# REX_PG_FAST=1 (fsync off etc.; throwaway test clusters only).
# The *-status commands and `status` exit 0 when running, 3 when not.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd)"
REX_HOME="${REX_HOME:-$REPO_ROOT/.rex}"
KAFKA_POM="$SCRIPT_DIR/kafka/pom.xml"
KAFKA_LOG4J="$SCRIPT_DIR/kafka/log4j2.properties"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_NUM_PARTITIONS="${KAFKA_NUM_PARTITIONS:-3}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
PG_PORT="${PG_PORT:-5433}"
PG_USER=rex
PG_DB=rex

RUN_DIR="$REX_HOME/run"
LOG_DIR="$REX_HOME/logs"
KAFKA_HOME="$REX_HOME/kafka"
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_DATA="$KAFKA_HOME/data"
KAFKA_CONF="$KAFKA_HOME/server.properties"
KAFKA_CLUSTER_ID_FILE="$KAFKA_HOME/cluster.id"
KAFKA_PID_FILE="$RUN_DIR/kafka.pid"
KAFKA_LOG="$LOG_DIR/kafka.log"
PG_HOME="$REX_HOME/pg"
PG_DATA="$PG_HOME/data"
PG_SOCK_DIR="$PG_HOME/run"
PG_LOG="$LOG_DIR/postgres.log"

say() { printf 'rexinfra: %s\n' "$*"; }
die() { printf 'rexinfra: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- helpers

ensure_dirs() { mkdir -p "$RUN_DIR" "$LOG_DIR" "$KAFKA_HOME"; }

# Serialises start/stop/install so two concurrent `up`s (e.g. parallel CI steps) don't race.
take_lock() {
  ensure_dirs
  exec 9>"$RUN_DIR/rexinfra.lock"
  flock -w 300 9 || die "another rexinfra command holds $RUN_DIR/rexinfra.lock"
}

# Prints who listens on a TCP port (empty when free).
port_listener() {
  local port="$1"
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$port" 2>/dev/null | awk '{print $4, $6}'
  elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "127.0.0.1:$port (unknown process)"
  fi
}

require_free_port() {
  local port="$1" what="$2" who
  who="$(port_listener "$port")"
  [[ -z "$who" ]] && return 0
  printf 'rexinfra: error: port %s (%s) is already in use by something else:\n  %s\n' \
    "$port" "$what" "$who" >&2
  printf '  stop it, or choose another port (see the env vars at the top of %s)\n' "$0" >&2
  exit 1
}

# True when $1 is a live process whose command line contains $2 (guards against pid reuse).
pid_matches() {
  local pid="$1" pattern="$2"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$pattern"
}

is_root() { [[ "$(id -u)" == 0 ]]; }

# ---------------------------------------------------------------- install

kafka_version() {
  if [[ -n "${KAFKA_VERSION:-}" ]]; then echo "$KAFKA_VERSION"; return; fi
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1
}

kafka_installed() {
  local version="$1"
  [[ -f "$KAFKA_LIBS/.installed" && "$(cat "$KAFKA_LIBS/.installed")" == "$version" &&
     -f "$KAFKA_LIBS/kafka_2.13-$version.jar" ]]
}

install_kafka() {
  local version tmp
  version="$(kafka_version)"
  [[ -n "$version" ]] || die "cannot read kafka.version from $KAFKA_POM"
  if kafka_installed "$version"; then
    say "kafka $version jars present in $KAFKA_LIBS"
    return
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found; Maven is needed to fetch the Kafka jars"
  command -v java >/dev/null 2>&1 || die "java not found; Kafka needs Java 17+"
  say "fetching kafka $version jars with Maven (first time takes a minute)..."
  # Download into a scratch folder and swap it in, so an interrupted run never looks complete.
  tmp="$KAFKA_HOME/libs.tmp"
  rm -rf "$tmp"
  # Output goes to a log file: quiet mvn still prints stray ANSI codes on a terminal.
  mvn -B -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies \
    -Dkafka.version="$version" -Dlibs.dir="$tmp" >"$LOG_DIR/mvn-install.log" 2>&1 || {
    tail -n 30 "$LOG_DIR/mvn-install.log" >&2
    die "mvn failed to fetch the Kafka jars (is Maven Central reachable?)"
  }
  [[ -f "$tmp/kafka_2.13-$version.jar" ]] || die "mvn did not produce kafka_2.13-$version.jar"
  echo "$version" >"$tmp/.installed"
  rm -rf "$KAFKA_LIBS"
  mv "$tmp" "$KAFKA_LIBS"
  say "kafka $version: $(find "$KAFKA_LIBS" -name '*.jar' | wc -l) jars in $KAFKA_LIBS"
}

# Directory with initdb/pg_ctl: $PG_BIN, else `pg_config --bindir`, else the newest
# /usr/lib/postgresql/*/bin.
pg_bindir() {
  local dir
  if [[ -n "${PG_BIN:-}" ]]; then
    [[ -x "$PG_BIN/initdb" ]] || die "PG_BIN=$PG_BIN has no initdb"
    echo "$PG_BIN"; return
  fi
  if command -v pg_config >/dev/null 2>&1; then
    dir="$(pg_config --bindir 2>/dev/null || true)"
    if [[ -n "$dir" && -x "$dir/initdb" ]]; then echo "$dir"; return; fi
  fi
  dir="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1)"
  if [[ -n "$dir" && -x "$dir/initdb" ]]; then echo "$dir"; return; fi
  die "PostgreSQL server binaries (initdb, pg_ctl) not found; install postgresql or set PG_BIN"
}

check_pg_binaries() {
  local bin
  bin="$(pg_bindir)"
  for tool in initdb pg_ctl postgres; do
    [[ -x "$bin/$tool" ]] || die "$bin/$tool missing"
  done
  command -v psql >/dev/null 2>&1 || die "psql not found (install postgresql-client)"
  say "postgres binaries: $bin ($("$bin/postgres" --version))"
}

cmd_install() {
  take_lock
  install_kafka
  check_pg_binaries
}

# ---------------------------------------------------------------- kafka

kafka_pid() {
  local pid
  pid="$(cat "$KAFKA_PID_FILE" 2>/dev/null || true)"
  if pid_matches "$pid" kafka.Kafka; then echo "$pid"; fi
}

kafka_cluster_id() {
  local id
  if [[ -s "$KAFKA_CLUSTER_ID_FILE" ]]; then cat "$KAFKA_CLUSTER_ID_FILE"; return; fi
  # The id file was lost but the data is still there: keep the id the data was formatted with.
  id="$(sed -n 's/^cluster.id=//p' "$KAFKA_DATA/meta.properties" 2>/dev/null || true)"
  if [[ -z "$id" ]]; then
    id="$(java -cp "$KAFKA_LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n1)"
  fi
  [[ "$id" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "could not obtain a Kafka cluster id (got '$id')"
  echo "$id" >"$KAFKA_CLUSTER_ID_FILE"
  echo "$id"
}

write_kafka_config() {
  cat >"$KAFKA_CONF" <<EOF
# Generated by deploy/local/rexinfra.sh on every kafka-start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KAFKA_DATA
auto.create.topics.enable=true
num.partitions=$KAFKA_NUM_PARTITIONS
# A single node cannot satisfy the defaults (replication factor 3, min ISR 2); the
# transaction.state.log.* lines are required for idempotent producers.
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
num.network.threads=2
num.io.threads=2
EOF
}

format_kafka_storage() {
  local id="$1"
  [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
  say "formatting kafka storage in $KAFKA_DATA (cluster id $id)"
  mkdir -p "$KAFKA_DATA"
  # -g: directories that are already formatted are skipped, so data survives restarts.
  java -cp "$KAFKA_LIBS/*" -Dlog4j2.configurationFile="$KAFKA_LOG4J" \
    kafka.tools.StorageTool format --standalone -t "$id" -c "$KAFKA_CONF" -g \
    >>"$KAFKA_LOG" 2>&1 || { tail -n 30 "$KAFKA_LOG" >&2; die "kafka storage format failed"; }
}

launch_kafka() {
  local heap="$KAFKA_HEAP"
  [[ "$heap" == -Xmx* ]] || heap="-Xmx$heap"
  # 9>&-: the broker must not inherit (and so keep holding) our lock file descriptor.
  # setsid: the broker must outlive this script and ignore Ctrl-C sent to the caller's shell.
  # The inner shell writes its own pid and then execs java, so the pid file is the JVM's.
  # shellcheck disable=SC2016  # $$ and $@ belong to the inner shell
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PID_FILE" \
    java "$heap" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_LOG4J" -cp "$KAFKA_LIBS/*" \
    kafka.Kafka "$KAFKA_CONF" </dev/null >>"$KAFKA_LOG" 2>&1 9>&- &
}

# Waits for "Kafka Server started"; a TCP connect alone is not enough (metadata not ready).
wait_kafka_ready() {
  local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) pid=""
  while ((SECONDS < deadline)); do
    [[ -n "$pid" ]] || pid="$(cat "$KAFKA_PID_FILE" 2>/dev/null || true)"
    if grep -q "Kafka Server started" "$KAFKA_LOG" 2>/dev/null; then
      say "kafka ready on 127.0.0.1:$KAFKA_PORT (pid $pid)"; return 0
    fi
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      printf 'rexinfra: kafka exited during startup; last lines of %s:\n' "$KAFKA_LOG" >&2
      tail -n 40 "$KAFKA_LOG" >&2
      rm -f "$KAFKA_PID_FILE"; exit 1
    fi
    sleep 1
  done
  printf 'rexinfra: kafka not ready after %ss; last lines of %s:\n' \
    "$KAFKA_START_TIMEOUT" "$KAFKA_LOG" >&2
  tail -n 40 "$KAFKA_LOG" >&2
  stop_kafka_process
  exit 1
}

cmd_kafka_start() {
  local pid id
  take_lock
  pid="$(kafka_pid)"
  if [[ -n "$pid" ]]; then say "kafka already running (pid $pid, 127.0.0.1:$KAFKA_PORT)"; return; fi
  rm -f "$KAFKA_PID_FILE"
  kafka_installed "$(kafka_version)" || install_kafka
  require_free_port "$KAFKA_PORT" "kafka broker"
  require_free_port "$KAFKA_CONTROLLER_PORT" "kafka controller"
  # Keep the previous run's log for post-mortems; readiness is judged on a fresh file.
  [[ -f "$KAFKA_LOG" ]] && mv -f "$KAFKA_LOG" "$KAFKA_LOG.prev"
  : >"$KAFKA_LOG"
  write_kafka_config
  id="$(kafka_cluster_id)"
  format_kafka_storage "$id"
  say "starting kafka (heap $KAFKA_HEAP, log $KAFKA_LOG)"
  launch_kafka
  wait_kafka_ready
}

stop_kafka_process() {
  local pid waited=0
  pid="$(kafka_pid)"
  if [[ -z "$pid" ]]; then rm -f "$KAFKA_PID_FILE"; return 1; fi
  kill -TERM "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && ((waited < 30)); do sleep 1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    say "kafka (pid $pid) still running after 30s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  fi
  rm -f "$KAFKA_PID_FILE"
}

cmd_kafka_stop() {
  take_lock
  if stop_kafka_process; then say "kafka stopped"; else say "kafka not running"; fi
}

kafka_state() {
  local pid
  pid="$(kafka_pid)"
  if [[ -z "$pid" ]]; then echo "stopped -"
  elif grep -q "Kafka Server started" "$KAFKA_LOG" 2>/dev/null; then echo "running $pid"
  else echo "starting $pid"; fi
}

cmd_kafka_status() {
  local state pid
  read -r state pid < <(kafka_state)
  if [[ "$state" == stopped ]]; then say "kafka stopped"; return 3; fi
  say "kafka $state (pid $pid, 127.0.0.1:$KAFKA_PORT, controller 127.0.0.1:$KAFKA_CONTROLLER_PORT)"
}

# ---------------------------------------------------------------- postgres

# Runs a PostgreSQL server tool as the postgres system user when we are root (initdb, pg_ctl
# and postgres refuse to run as root), as the caller otherwise. cd / so that the postgres
# user never trips over an unreadable cwd.
as_pg_owner() {
  # 9>&-: the server must not inherit (and so keep holding) our lock file descriptor.
  if is_root; then (cd / && runuser -u postgres -- "$@" 9>&-); else (cd / && "$@" 9>&-); fi
}

# The postgres user must be able to traverse every parent of REX_HOME/pg and REX_HOME/logs
# (e.g. a repo under /root, or a 0077 umask). Grant o+x (traverse only, not read) where missing.
ensure_pg_traversable() {
  local target dir part parts
  for target in "$PG_HOME" "$LOG_DIR"; do
    runuser -u postgres -- test -x "$target" 2>/dev/null && continue
    # Walk from / down, so each check only fails on the directory that really blocks.
    dir=""
    IFS=/ read -ra parts <<<"${target#/}"
    for part in "${parts[@]}"; do
      dir="$dir/$part"
      if ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
        say "granting o+x on $dir so the postgres user can reach it"
        chmod o+x "$dir"
      fi
    done
  done
}

prepare_pg_dirs() {
  mkdir -p "$PG_HOME" "$PG_DATA" "$PG_SOCK_DIR" "$LOG_DIR"
  touch "$PG_LOG"
  chmod 700 "$PG_DATA"
  chmod 755 "$PG_SOCK_DIR"  # other local users may connect through the socket
  if is_root; then
    id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' system user"
    ensure_pg_traversable
    # pg_ctl opens the log file as the postgres user, so it must own it.
    chown postgres:postgres "$PG_SOCK_DIR" "$PG_LOG"
    [[ "$(stat -c %U "$PG_DATA")" == postgres ]] || chown -R postgres:postgres "$PG_DATA"
  fi
}

pg_initdb() {
  local bin="$1" locale=C
  [[ -f "$PG_DATA/PG_VERSION" ]] && return 0
  locale -a 2>/dev/null | grep -qix 'c.utf-\?8' && locale=C.UTF-8
  say "initdb into $PG_DATA (superuser $PG_USER, trust auth, UTF8, locale $locale)"
  as_pg_owner "$bin/initdb" -D "$PG_DATA" -A trust -U "$PG_USER" -E UTF8 --locale="$locale" \
    >>"$LOG_DIR/initdb.log" 2>&1 || { tail -n 30 "$LOG_DIR/initdb.log" >&2; die "initdb failed"; }
}

# Prints "<pid> <port>" of our running cluster (from postmaster.pid), nothing when stopped.
pg_running() {
  local pid port
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
  pid="$(sed -n 1p "$PG_DATA/postmaster.pid")"
  port="$(sed -n 4p "$PG_DATA/postmaster.pid")"
  if pid_matches "$pid" postgres; then echo "$pid $port"; fi
}

psql_rex() {
  local db="$1"; shift
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$db" "$@"
}

ensure_rex_database() {
  if [[ -z "$(psql_rex postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]]; then
    psql_rex postgres -c "CREATE DATABASE $PG_DB"
    say "created database $PG_DB"
  fi
}

cmd_pg_start() {
  local bin running opts
  take_lock
  running="$(pg_running)"
  if [[ -n "$running" ]]; then
    say "postgres already running (pid ${running% *}, 127.0.0.1:${running#* })"
    [[ "${running#* }" == "$PG_PORT" ]] || say "note: PG_PORT=$PG_PORT differs from the running port"
    return
  fi
  bin="$(pg_bindir)"
  require_free_port "$PG_PORT" "postgres"
  prepare_pg_dirs
  pg_initdb "$bin"
  opts="-p $PG_PORT -k '$PG_SOCK_DIR' -c listen_addresses=127.0.0.1 -c max_connections=300"
  if [[ "${REX_PG_FAST:-0}" == 1 ]]; then
    # Throwaway test clusters only: a crash can corrupt the data.
    opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    say "REX_PG_FAST=1: fsync, synchronous_commit and full_page_writes are off"
  fi
  say "starting postgres on 127.0.0.1:$PG_PORT (log $PG_LOG)"
  as_pg_owner "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -o "$opts" -w -t 60 start >/dev/null ||
    { tail -n 30 "$PG_LOG" >&2; die "postgres failed to start"; }
  ensure_rex_database
  running="$(pg_running)"
  say "postgres ready on 127.0.0.1:$PG_PORT, database $PG_DB, user $PG_USER (pid ${running% *})"
}

cmd_pg_stop() {
  take_lock
  if [[ -z "$(pg_running)" ]]; then say "postgres not running"; return; fi
  as_pg_owner "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null ||
    die "pg_ctl stop failed; see $PG_LOG"
  say "postgres stopped"
}

cmd_pg_status() {
  local running
  running="$(pg_running)"
  if [[ -z "$running" ]]; then say "postgres stopped"; return 3; fi
  say "postgres running (pid ${running% *}, 127.0.0.1:${running#* }, database $PG_DB)"
}

cmd_create_schemas() {
  local schema
  (($# > 0)) || die "usage: $0 create-schemas <schema>..."
  [[ -n "$(pg_running)" ]] || die "postgres is not running; run '$0 pg-start' first"
  for schema in "$@"; do
    [[ "$schema" =~ ^[a-z_][a-z0-9_]*$ ]] || die "invalid schema name '$schema' (use [a-z0-9_])"
    # The exception handler keeps concurrent runs idempotent (two callers creating one role).
    psql_rex "$PG_DB" <<SQL
SET client_min_messages = warning;
-- The owner, the request role and the worker role (rex_shared.db_roles).
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rex_${schema}') THEN
    CREATE ROLE rex_${schema} LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '$schema';
  END IF;
EXCEPTION WHEN duplicate_object THEN NULL;
END
\$\$;
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rex_${schema}_api') THEN
    CREATE ROLE rex_${schema}_api LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '$schema';
  END IF;
EXCEPTION WHEN duplicate_object THEN NULL;
END
\$\$;
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rex_${schema}_worker') THEN
    CREATE ROLE rex_${schema}_worker LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD '$schema';
  END IF;
EXCEPTION WHEN duplicate_object THEN NULL;
END
\$\$;
CREATE SCHEMA IF NOT EXISTS $schema AUTHORIZATION rex_$schema;
SQL
    say "schema $schema ready (owner rex_$schema, roles rex_${schema}_api and rex_${schema}_worker)"
  done
}

# ---------------------------------------------------------------- aggregate commands

cmd_status() {
  local kstate kpid prun pstate=stopped ppid=- paddr="127.0.0.1:$PG_PORT" rc=0
  read -r kstate kpid < <(kafka_state)
  prun="$(pg_running)"
  if [[ -n "$prun" ]]; then pstate=running; ppid="${prun% *}"; paddr="127.0.0.1:${prun#* }"; fi
  printf '%-10s %-9s %-8s %s\n' COMPONENT STATE PID ADDRESS
  printf '%-10s %-9s %-8s %s\n' postgres "$pstate" "$ppid" "$paddr (db $PG_DB, user $PG_USER)"
  printf '%-10s %-9s %-8s %s\n' kafka "$kstate" "$kpid" \
    "127.0.0.1:$KAFKA_PORT (controller $KAFKA_CONTROLLER_PORT)"
  [[ "$pstate" == running && "$kstate" == running ]] || rc=3
  return "$rc"
}

cmd_up() {
  cmd_install
  cmd_pg_start
  cmd_kafka_start
}

cmd_down() {
  local rc=0
  cmd_kafka_stop || rc=1
  cmd_pg_stop || rc=1
  return "$rc"
}

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

main() {
  local cmd="${1:-}"
  (($# > 0)) && shift
  case "$cmd" in
    install) cmd_install ;;
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    kafka-start) cmd_kafka_start ;;
    kafka-stop) cmd_kafka_stop ;;
    kafka-status) cmd_kafka_status ;;
    pg-start) cmd_pg_start ;;
    pg-stop) cmd_pg_stop ;;
    pg-status) cmd_pg_status ;;
    create-schemas) cmd_create_schemas "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
  esac
}

main "$@"
