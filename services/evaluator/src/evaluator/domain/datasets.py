"""Reading uploaded datasets (JSON, JSONL, CSV) into rows, with an error per bad row and field.

Every row has `question` (text), `contexts` (a list of texts), `answer` (text) and optionally
`ground_truth` (text). In CSV, `contexts` is a JSON list (`["a", "b"]`) or texts separated by
`||`; an empty `ground_truth` cell means none.
"""

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from evaluator.domain.model import Row

MAX_FIELD_CHARS = 100_000
MAX_CONTEXTS = 200
MAX_ERRORS = 50  # listed in one reply; the count says how many there were
FIELDS = ("question", "contexts", "answer", "ground_truth")


class DatasetError(ValueError):
    """The upload cannot be read, or some rows are invalid (`errors` says which and why)."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


@dataclass(frozen=True)
class Limits:
    max_rows: int = 5000


def _text(row: dict[str, Any], name: str, *, required: bool) -> tuple[str | None, str | None]:
    value = row.get(name)
    if value is None or (value == "" and not required):
        return None, (f"{name} is required" if required else None)
    if not isinstance(value, str):
        return None, f"{name} must be a string"
    if required and name == "question" and not value.strip():
        return None, "question must not be empty"
    if len(value) > MAX_FIELD_CHARS:
        return None, f"{name} is longer than {MAX_FIELD_CHARS} characters"
    return value, None


def _contexts(row: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    value = row.get("contexts")
    if value is None:
        return (), "contexts is required (a list of texts, may be empty)"
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        return (), "contexts must be a list of strings"
    if len(value) > MAX_CONTEXTS:
        return (), f"at most {MAX_CONTEXTS} contexts per row"
    if any(len(c) > MAX_FIELD_CHARS for c in value):
        return (), f"a context is longer than {MAX_FIELD_CHARS} characters"
    return tuple(value), None


def _row(index: int, item: Any) -> tuple[Row | None, list[dict[str, Any]]]:
    if not isinstance(item, dict):
        return None, [{"row": index, "field": None, "message": "a row must be a JSON object"}]
    problems: list[dict[str, Any]] = []
    values: dict[str, Any] = {}
    for name, required in (("question", True), ("answer", True), ("ground_truth", False)):
        values[name], problem = _text(item, name, required=required)
        if problem:
            problems.append({"row": index, "field": name, "message": problem})
    values["contexts"], problem = _contexts(item)
    if problem:
        problems.append({"row": index, "field": "contexts", "message": problem})
    if problems:
        return None, problems
    return Row(
        index, values["question"], values["contexts"], values["answer"], values["ground_truth"]
    ), []


def rows_from(items: Iterable[Any], limits: Limits) -> tuple[Row, ...]:
    """Validated rows, or DatasetError listing every bad row and field (the first 50)."""
    rows: list[Row] = []
    errors: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        if index >= limits.max_rows:
            raise DatasetError(f"at most {limits.max_rows} rows per dataset")
        row, problems = _row(index, item)
        errors += problems
        if row is not None:
            rows.append(row)
    if errors:
        first = errors[0]
        where = f"rows[{first['row']}]" + (f".{first['field']}" if first["field"] else "")
        message = f"{len(errors)} problem(s) in the rows; first: {where}: {first['message']}"
        raise DatasetError(message, errors[:MAX_ERRORS])
    if not rows:
        raise DatasetError("the dataset has no rows")
    return tuple(rows)


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"the upload is not UTF-8 text: {exc.reason} at byte {exc.start}"
        ) from exc


def parse_json(body: bytes) -> tuple[str | None, list[Any]]:
    """`{"name": ..., "rows": [...]}` (or a bare list of rows)."""
    try:
        value = json.loads(_decode(body))
    except json.JSONDecodeError as exc:
        raise DatasetError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    if isinstance(value, list):
        return None, value
    if not isinstance(value, dict) or not isinstance(value.get("rows"), list):
        raise DatasetError('expected {"name": ..., "rows": [...]} or a list of rows')
    name = value.get("name")
    if name is not None and not isinstance(name, str):
        raise DatasetError("name must be a string")
    return name, value["rows"]


def parse_jsonl(body: bytes) -> list[Any]:
    """One JSON object per line; blank lines are skipped."""
    items: list[Any] = []
    for number, line in enumerate(_decode(body).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"line {number} is not JSON: {exc.msg}",
                [{"row": len(items), "line": number, "field": None, "message": exc.msg}],
            ) from exc
    return items


def _csv_contexts(cell: str) -> Any:
    cell = cell.strip()
    if cell.startswith("["):
        try:
            return json.loads(cell)
        except json.JSONDecodeError:
            return cell  # reported as "must be a list of strings"
    return [part.strip() for part in cell.split("||") if part.strip()]


def parse_csv(body: bytes) -> list[Any]:
    """A header row naming the fields, then one row per line."""
    reader = csv.DictReader(io.StringIO(_decode(body)))
    header = set(reader.fieldnames or ())
    missing = [f for f in ("question", "contexts", "answer") if f not in header]
    if missing:
        raise DatasetError(f"the CSV header lacks column(s): {', '.join(missing)}")
    items: list[Any] = []
    try:
        for record in reader:
            item: dict[str, Any] = {k: record.get(k) for k in FIELDS if k in header}
            item["contexts"] = _csv_contexts(record.get("contexts") or "")
            items.append(item)
    except csv.Error as exc:
        raise DatasetError(f"CSV line {reader.line_num}: {exc}") from exc
    return items
