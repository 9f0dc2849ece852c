#!/usr/bin/env bash
# Puts a real Compose implementation at <repo>/.rex/bin/docker-compose for checking
# docker-compose.yml without a container engine (`docker-compose config` parses, interpolates
# and validates the file against the Compose schema; it needs no engine). Idempotent; prints
# the path.
#
# Which one: Debian's `docker-compose` package (Compose 1.29), from the Debian archive with
# apt-get. Compose v2 cannot be `go install`ed from its module (its go.mod has exclude
# directives), and building it inside a wrapper module pulls in the Docker CLI and BuildKit:
# minutes of build for the same `config` check. A `docker-compose` already on PATH is used.
#
# Environment: REX_HOME (default <repo>/.rex).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REX_HOME="${REX_HOME:-$REPO_ROOT/.rex}"
BIN_DIR="$REX_HOME/bin"
TOOL="$BIN_DIR/docker-compose"

works() { [[ -x "$1" ]] && "$1" version >/dev/null 2>&1; }

if works "$TOOL"; then echo "$TOOL"; exit 0; fi
mkdir -p "$BIN_DIR"
exec 9>"$BIN_DIR/.compose.lock"  # parallel sessions wait for one install
flock -w 900 9 || { echo "install-compose: timed out waiting for the lock" >&2; exit 1; }
if works "$TOOL"; then echo "$TOOL"; exit 0; fi

found="$(command -v docker-compose || true)"
if [[ -z "$found" ]]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-compose: no docker-compose and no apt-get; install Compose by hand" >&2
    exit 1
  fi
  sudo=()
  [[ "$(id -u)" == 0 ]] || sudo=(sudo -n)
  echo "install-compose: installing Debian's docker-compose package" >&2
  export DEBIAN_FRONTEND=noninteractive
  # The package lists may be missing or stale on a fresh machine: update once, then retry.
  "${sudo[@]}" apt-get install -y -q --no-install-recommends docker-compose >&2 ||
    { "${sudo[@]}" apt-get update -q >&2 &&
      "${sudo[@]}" apt-get install -y -q --no-install-recommends docker-compose >&2; }
  found="$(command -v docker-compose)"
fi
ln -sf "$found" "$TOOL"
works "$TOOL" || { echo "install-compose: $found does not run" >&2; exit 1; }
echo "$TOOL"
