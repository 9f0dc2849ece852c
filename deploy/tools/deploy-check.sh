#!/usr/bin/env bash
# `make deploy-check`: every deployment artefact checked with the real tool that reads it.
#   - Helm chart: `helm lint --strict` and `helm template` with the default values, the
#     production-like values and every optional feature on; each rendering validated offline
#     against the Kubernetes OpenAPI schemas (kubernetes-validate --strict) of the version helm
#     renders for and of the newest one bundled.
#   - docker-compose.yml with .env.example: `docker-compose config` (a real Compose).
#   - Grafana dashboard: strict Grafana dashboard model + PromQL parse (deploy/tools/obscheck).
#   - Prometheus rules: parsed as Prometheus loads them (obscheck rules).
# The tools install themselves into .rex/bin on first use (helm and obscheck build from their
# Go modules, Compose from Debian's archive). Whether the dashboard and the rules name metrics
# the services export is a test: tests/deploy/unit/test_observability_artifacts.py.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
UV="$(command -v uv || echo "$HOME/.local/bin/uv")"
CHART=deploy/helm/rex
K8S_VERSIONS=(1.31.0 1.37.0)  # helm's default kube version (client-go), and the newest schemas
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

step() { printf '=== %s\n' "$*"; }
SECONDS=0

step "tools"
helm="$(bash deploy/tools/install-helm.sh)"
compose="$(bash deploy/tools/install-compose.sh)"
obscheck="$(bash deploy/tools/install-obscheck.sh)"
"$UV" run --frozen kubernetes-validate --version >/dev/null

step "helm lint (default, production)"
"$helm" lint --strict --quiet "$CHART"
"$helm" lint --strict --quiet "$CHART" -f "$CHART/values-production.yaml"

step "helm template + kubernetes-validate --strict (${K8S_VERSIONS[*]})"
"$helm" template rex "$CHART" >"$OUT/default.yaml"
"$helm" template rex "$CHART" -f "$CHART/values-production.yaml" >"$OUT/production.yaml"
"$helm" template rex "$CHART" -f "$CHART/values-production.yaml" \
  --set metrics.serviceMonitor.enabled=true --set networkPolicy.enabled=true \
  --set services.llmSim.enabled=true --set secrets.existingSecret= \
  --set spreadAcrossNodes=true >"$OUT/everything.yaml"
for version in "${K8S_VERSIONS[@]}"; do
  rc=0
  "$UV" run --frozen kubernetes-validate -k "$version" --strict --quiet \
    "$OUT/default.yaml" "$OUT/production.yaml" "$OUT/everything.yaml" >"$OUT/kv.log" 2>&1 || rc=$?
  # ServiceMonitor is a Prometheus Operator CRD: no Kubernetes schema; a warning, not an error.
  grep -v "Couldn't find schema for kind ServiceMonitor" "$OUT/kv.log" || true
  [[ $rc == 0 ]] || { echo "kubernetes-validate $version failed"; exit "$rc"; }
done
echo "rendered $(grep -c '^kind:' "$OUT/everything.yaml") manifests (all features); all valid"

step "docker-compose config ($("$compose" version --short 2>/dev/null || echo compose))"
# REX_JWT_SECRET is required (`:?`) and never committed; any value renders the file.
REX_JWT_SECRET=deploy-check-placeholder "$compose" -f docker-compose.yml \
  --env-file .env.example config -q

step "Grafana dashboard and Prometheus rules (obscheck)"
"$obscheck" dashboard deploy/grafana/cost-observability.json >"$OUT/dashboard.json"
"$obscheck" rules deploy/prometheus/rules/*.yml >"$OUT/rules.json"
echo "dashboard: $(grep -c '"where"' "$OUT/dashboard.json") queries; rules: $(grep -c '"where"' "$OUT/rules.json") expressions"

echo "deploy-check passed in ${SECONDS}s"
