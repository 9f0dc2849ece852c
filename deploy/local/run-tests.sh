#!/usr/bin/env bash
# `make test`: lint, then every tier (unit, wiring, integration, e2e) on real Kafka and
# PostgreSQL. Starts the infrastructure it needs and stops exactly that, even on failure.
# Explicit addresses (REX_TEST_KAFKA_BOOTSTRAP + REX_TEST_PG_ADMIN_DSN) skip the local start.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
UV="$(command -v uv || echo "$HOME/.local/bin/uv")"
RUN=("$UV" run --frozen)
tiers=("${@:-lint deploy unit wiring integration e2e}")
read -r -a tiers <<<"${tiers[*]}"

started=()
cleanup() {
  for component in "${started[@]}"; do bash deploy/local/rexinfra.sh "$component-stop" || true; done
}
trap cleanup EXIT

need_infra=0
for t in "${tiers[@]}"; do [[ $t == integration || $t == e2e ]] && need_infra=1; done
if [[ $need_infra == 1 && -z "${REX_TEST_KAFKA_BOOTSTRAP:-}" ]]; then
  # A throwaway test cluster: durability settings off for speed (never for real data).
  if ! bash deploy/local/rexinfra.sh pg-status >/dev/null 2>&1; then
    REX_PG_FAST=1 bash deploy/local/rexinfra.sh pg-start; started+=(pg)
  fi
  if ! bash deploy/local/rexinfra.sh kafka-status >/dev/null 2>&1; then
    bash deploy/local/rexinfra.sh kafka-start; started+=(kafka)
  fi
fi

paths=(shared/tests libs/*/tests services/*/tests tools/*/tests tests)
for tier in "${tiers[@]}"; do
  echo "=== $tier ==="
  if [[ $tier == deploy ]]; then
    bash deploy/tools/deploy-check.sh
    continue
  fi
  if [[ $tier == lint ]]; then
    "${RUN[@]}" ruff check .
    "${RUN[@]}" ruff format --check .
    "${RUN[@]}" mypy shared/src libs/*/src services/*/src tools/*/src bench
    "${RUN[@]}" python bench/run_all.py --import-only
    continue
  fi
  set +e
  "${RUN[@]}" pytest -m "$tier" -q -p no:cacheprovider "${paths[@]}"
  rc=$?
  set -e
  # 5 = no test of this tier was collected: a tier that runs nothing is a failure here.
  if [[ $rc != 0 ]]; then echo "tier $tier failed (pytest exit $rc)"; exit "$rc"; fi
done
echo "all tiers passed: ${tiers[*]}"
