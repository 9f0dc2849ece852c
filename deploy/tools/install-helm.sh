#!/usr/bin/env bash
# Installs helm into <repo>/.rex/bin (git-ignored) by building it from its Go module with the
# installed Go toolchain: no prebuilt binary is downloaded, only Go modules. Idempotent: a
# helm of the pinned version already there is kept. Prints the helm binary's path.
#
#   deploy/tools/install-helm.sh            # then: "$(deploy/tools/install-helm.sh)" lint ...
#
# Environment: HELM_VERSION (default below), REX_HOME (default <repo>/.rex).
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.16.4}"
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
REX_HOME="${REX_HOME:-$REPO_ROOT/.rex}"
BIN_DIR="$REX_HOME/bin"
HELM="$BIN_DIR/helm"
STAMP="$BIN_DIR/.helm.version"

is_installed() {
  [[ -x "$HELM" && -f "$STAMP" && "$(cat "$STAMP")" == "$HELM_VERSION" ]] &&
    "$HELM" version --short >/dev/null 2>&1
}

if is_installed; then echo "$HELM"; exit 0; fi

command -v go >/dev/null 2>&1 || {
  echo "install-helm: go not found; helm is built from its Go module (apt-get install golang)" >&2
  exit 1
}

mkdir -p "$BIN_DIR"
# Concurrent installs (parallel test sessions) wait for each other instead of racing.
exec 9>"$BIN_DIR/.helm.lock"
flock -w 900 9 || { echo "install-helm: timed out waiting for $BIN_DIR/.helm.lock" >&2; exit 1; }
if is_installed; then echo "$HELM"; exit 0; fi

echo "install-helm: building helm $HELM_VERSION from its Go module (a few minutes the first time)" >&2
# helm's release builds stamp the version and the Kubernetes version that `helm template` and
# `helm lint` assume (without it: v1.20, which fails charts that need newer); do the same,
# deriving the Kubernetes minor from the client-go version helm's go.mod requires.
gomod="$(go mod download -json "helm.sh/helm/v3@$HELM_VERSION" |
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
client_go="$(awk '$1 == "k8s.io/client-go" { print $2; exit }' "$gomod")"  # e.g. v0.31.3
k8s_minor="$(echo "$client_go" | cut -d. -f2)"
[[ "$k8s_minor" =~ ^[0-9]+$ ]] || { echo "install-helm: no client-go version in $gomod" >&2; exit 1; }
ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done

tmp="$(mktemp -d "$BIN_DIR/.helm-build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  go install -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
mv -f "$tmp/helm" "$HELM"
echo "$HELM_VERSION" >"$STAMP"
echo "$HELM"
