"""IsoDate / IsoDateTime: ISO 8601 text only, never a number read as seconds since 1970."""

from datetime import UTC, date, datetime

import pytest
from pydantic import BaseModel, ValidationError
from rex_shared.api import IsoDate, IsoDateTime


class Window(BaseModel):
    day: IsoDate | None = None
    at: IsoDateTime | None = None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"day": "2026-11-01"}, Window(day=date(2026, 11, 1))),
        ({"at": "2026-11-01T09:30:00Z"}, Window(at=datetime(2026, 11, 1, 9, 30, tzinfo=UTC))),
        ({"at": "2026-11-01"}, Window(at=datetime(2026, 11, 1))),
        ({"day": date(2026, 11, 1)}, Window(day=date(2026, 11, 1))),
    ],
)
def test_iso_text_and_real_dates_are_taken(given: dict[str, object], expected: Window) -> None:
    assert Window.model_validate(given) == expected


@pytest.mark.parametrize(
    "given",
    [{"day": "0"}, {"day": 0}, {"day": "20261101"}, {"at": 0}, {"at": "1.5e9"}, {"at": "0.0"}],
)
def test_numbers_are_refused_with_the_expected_form(given: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        Window.model_validate(given)


def test_json_bodies_are_checked_the_same_way() -> None:
    with pytest.raises(ValidationError, match="ISO 8601"):
        Window.model_validate_json('{"at": 1700000000}')
    assert Window.model_validate_json('{"day": "2026-11-01"}').day == date(2026, 11, 1)


def test_the_documented_schema_is_still_a_dated_string() -> None:
    props = Window.model_json_schema()["properties"]
    assert {"type": "string", "format": "date"} in props["day"]["anyOf"]
    assert {"type": "string", "format": "date-time"} in props["at"]["anyOf"]
