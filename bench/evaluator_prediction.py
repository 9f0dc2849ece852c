"""Prediction error: each bundled sample dataset is estimated, then run on all five metrics
against the simulated provider, per judge model; the actual cost is the cost-ledger's
(`GET /api/v1/costs/evaluations/{id}`, per metric). Target: actual within 15% of predicted.

    uv run python bench/evaluator_prediction.py [--judges openai:gpt-4o-mini,...]
"""

import argparse
import json
import time
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from evaluator_stack import evaluator_stack, token

ROOT = Path(__file__).resolve().parents[1]
METRICS = ["faithfulness", "answer_relevancy", "context_precision", "context_recall",
           "answer_correctness"]  # fmt: skip
JUDGES = "openai:gpt-4o-mini,openai:gpt-4.1,anthropic:claude-haiku-4-5,anthropic:claude-sonnet-4-6"


def datasets() -> dict[str, Any]:
    sample = json.loads(resources.files("rexctl").joinpath("data/sample_rag.json").read_text())
    extra = ROOT / "services" / "evaluator" / "samples" / "long_contexts_rag.json"
    return {"sample_rag": sample, "long_contexts_rag": json.loads(extra.read_text())}


def _wait(http: httpx.Client, url: str, done: Any, timeout_s: float = 180) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        data = http.get(url).json()["data"]
        if done(data):
            return data
        time.sleep(0.3)
    raise TimeoutError(url)


def run_one(http: httpx.Client, rows: list[Any], provider: str, model: str) -> list[dict[str, Any]]:
    body = {"rows": rows, "metrics": METRICS, "project_id": "bench-prediction",
            "judge": {"provider": provider, "model": model}}  # fmt: skip
    created = http.post("/api/v1/evaluations", json=body)
    created.raise_for_status()
    data = created.json()["data"]
    predicted = {m: Decimal(v["estimated_cost"]) for m, v in data["estimate"]["metrics"].items()}
    url = f"/api/v1/evaluations/{data['id']}"
    finished = _wait(http, url, lambda d: d["status"] not in ("queued", "running"))

    def costed(d: dict[str, Any]) -> bool:
        ledger = (d.get("cost") or {}).get("ledger") or {}
        return bool(ledger.get("calls") == finished["calls"])

    ledger = _wait(http, url, costed)["cost"]["ledger"]
    actual = {m["metric"]: Decimal(m["cost"]) for m in ledger["metrics"]}
    return [{"metric": m, "predicted": predicted[m], "actual": actual.get(m, Decimal(0))}
            for m in METRICS]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--judges", default=JUDGES)
    args = parser.parse_args()
    judges = [tuple(j.split(":", 1)) for j in args.judges.split(",")]
    results: list[dict[str, Any]] = []
    with evaluator_stack() as stack:
        headers = {"Authorization": f"Bearer {token(stack, 'bench-prediction', 'bench')}"}
        with httpx.Client(base_url=stack.url("evaluator"), headers=headers, timeout=60) as http:
            for name, dataset in datasets().items():
                for provider, model in judges:
                    for r in run_one(http, dataset["rows"], provider, model):
                        results.append({"dataset": name, "judge": f"{provider}/{model}", **r})
    print("| dataset | judge | metric | predicted $ | actual $ | error |")
    print("|---|---|---|---|---|---|")
    worst = Decimal(0)
    for r in results:
        error = (r["actual"] - r["predicted"]) / r["predicted"] * 100 if r["predicted"] else 0
        worst = max(worst, abs(Decimal(error)))
        print(f"| {r['dataset']} | {r['judge']} | {r['metric']} | {r['predicted']:.8f} |"
              f" {r['actual']:.8f} | {error:+.1f}% |")  # fmt: skip
    for label, key in (("judge", "judge"), ("dataset", "dataset")):
        for value in sorted({r[key] for r in results}):
            mine = [r for r in results if r[key] == value]
            p, a = sum(r["predicted"] for r in mine), sum(r["actual"] for r in mine)
            print(f"| total for {label} {value}: predicted {p:.8f} actual {a:.8f}"
                  f" error {(a - p) / p * 100:+.1f}% |")  # fmt: skip
    print("(predictions use what earlier calls of each model in this database taught: a model's"
          " first runs use the defaults and the Anthropic factor)")  # fmt: skip
    verdict = "pass" if worst <= 15 else "short"
    print(f"BENCH evaluator_prediction max_abs_error_per_metric={worst:.1f} % target=15 {verdict}")


if __name__ == "__main__":
    main()
