#!/usr/bin/env bash
# Builds deploy/tools/obscheck (the Grafana dashboard model and Prometheus rule checker) into
# <repo>/.rex/bin with the installed Go; its dependencies come from the Go module proxy as
# pinned by its go.sum. Idempotent: rebuilt only when its sources change. Prints the path.
#
#   "$(deploy/tools/install-obscheck.sh)" dashboard deploy/grafana/cost-observability.json
#
# Environment: REX_HOME (default <repo>/.rex).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$REPO_ROOT/deploy/tools/obscheck"
REX_HOME="${REX_HOME:-$REPO_ROOT/.rex}"
BIN_DIR="$REX_HOME/bin"
TOOL="$BIN_DIR/obscheck"
STAMP="$BIN_DIR/.obscheck.sum"

want="$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC"/*.go | sha256sum | cut -d' ' -f1)"
is_current() { [[ -x "$TOOL" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; }

if is_current; then echo "$TOOL"; exit 0; fi
command -v go >/dev/null 2>&1 || {
  echo "install-obscheck: go not found (apt-get install golang, or the Go toolchain)" >&2
  exit 1
}
mkdir -p "$BIN_DIR"
exec 9>"$BIN_DIR/.obscheck.lock"  # parallel test sessions wait for one build
flock -w 900 9 || { echo "install-obscheck: timed out waiting for the lock" >&2; exit 1; }
if is_current; then echo "$TOOL"; exit 0; fi

echo "install-obscheck: building obscheck (about a minute the first time)" >&2
tmp="$(mktemp "$BIN_DIR/.obscheck-build.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
(cd "$SRC" && CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false -mod=readonly" \
  go build -trimpath -ldflags "-s -w" -o "$tmp" .) >&2
chmod +x "$tmp"
mv -f "$tmp" "$TOOL"
echo "$want" >"$STAMP"
echo "$TOOL"
