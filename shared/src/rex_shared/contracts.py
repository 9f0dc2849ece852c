"""JSON Schema snapshots of every event: `python -m rex_shared.contracts` rewrites them."""

import json
import sys
from pathlib import Path

from rex_shared.events import ALL_EVENTS, Contract
from rex_shared.topics import ce_type

SNAPSHOT_DIR = Path(__file__).resolve().parents[2] / "schemas"


def schema_of(model: type[Contract]) -> str:
    """The JSON Schema of an event's data, as committed (sorted keys, trailing newline)."""
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = ce_type(model.topic)
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def snapshot_path(model: type[Contract]) -> Path:
    return SNAPSHOT_DIR / f"{ce_type(model.topic)}.json"


def write_all() -> list[Path]:
    """Rewrite every snapshot; review the diff before committing it."""
    SNAPSHOT_DIR.mkdir(exist_ok=True)
    written = []
    for model in ALL_EVENTS:
        path = snapshot_path(model)
        path.write_text(schema_of(model))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_all():
        sys.stdout.write(f"wrote {p}\n")
