"""AsyncAPI 3.0 documents of each service, generated with FastStream from the event contracts."""

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from rex_shared.events import (
    BudgetForecastExceeded,
    BudgetPeriodClosed,
    BudgetThresholdCrossed,
    Contract,
    EvaluationCompleted,
    LlmCallCompleted,
    LlmCostRecorded,
)

# What each service consumes and produces (DESIGN.md section 1): the documents follow from it.
SERVICES: dict[str, tuple[Sequence[type[Contract]], Sequence[type[Contract]]]] = {
    "evaluator": ((), (LlmCallCompleted, EvaluationCompleted)),
    "cost-ledger": ((LlmCallCompleted,), (LlmCostRecorded,)),
    "budget": (
        (LlmCostRecorded,),
        (BudgetThresholdCrossed, BudgetForecastExceeded, BudgetPeriodClosed),
    ),
    "notifier": ((BudgetThresholdCrossed, BudgetForecastExceeded, BudgetPeriodClosed), ()),
}
DOCS_DIR = Path(__file__).resolve().parents[3] / "docs" / "asyncapi"


def document(service: str, bootstrap: str = "127.0.0.1:9092") -> dict[str, Any]:
    """The AsyncAPI document of `service`: its subscribers and publishers with payload schemas."""
    consumes, produces = SERVICES[service]
    broker = KafkaBroker(bootstrap)
    for model in consumes:
        _subscribe(broker, service, model)
    for model in produces:
        broker.publisher(
            model.topic,
            title=f"{model.topic}:publish",
            schema=model,
            description=f"CloudEvents type rex.{model.topic}.v1, binary mode",
        )
    spec = AsyncAPI(
        broker,
        title=f"REX {service}",
        version="1.0.0",
        description=f"Events consumed and produced by the REX {service} service.",
    )
    data: dict[str, Any] = json.loads(spec.to_specification().to_json())
    return data


def _subscribe(broker: KafkaBroker, service: str, model: type[Contract]) -> None:
    async def handler(event: Contract) -> None:  # documentation only; never started
        return None

    handler.__annotations__["event"] = model
    broker.subscriber(
        model.topic,
        group_id=service,
        title=f"{model.topic}:consume",
        description=f"Consumed by {service} (group {service})",
    )(handler)


def write_all() -> list[Path]:
    """Regenerate docs/asyncapi/<service>.json."""
    DOCS_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    for service in SERVICES:
        path = DOCS_DIR / f"{service}.json"
        path.write_text(json.dumps(document(service), indent=2, sort_keys=True) + "\n")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write_all():
        print(f"wrote {p}")
