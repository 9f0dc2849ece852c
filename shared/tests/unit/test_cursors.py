"""List cursors: one encoding, earlier cursors still accepted, anything else a 422."""

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest
from rex_shared import cursors
from rex_shared.api import APIError

AT = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
ID = UUID("0b5f3c2e-8a4d-4a51-9d0e-6c1f2b3a4d5e")


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_a_position_round_trips() -> None:
    assert cursors.decode(cursors.encode(AT, ID)) == (AT, ID)
    berlin = AT.astimezone(timezone(timedelta(hours=1)))
    assert cursors.decode(cursors.encode(berlin, ID)) == (berlin, ID)


def test_a_position_with_a_sequence_number_round_trips() -> None:
    assert cursors.decode_with_seq(cursors.encode(AT, ID, 2)) == (AT, ID, 2)


def test_no_cursor_means_the_first_page() -> None:
    assert cursors.decode(None) is None and cursors.decode("") is None
    assert cursors.decode_with_seq(None) is None


def test_cursors_issued_by_every_service_before_still_decode() -> None:
    # budget and notifier: base64 of a JSON array; evaluator and cost-ledger: parts joined by "|".
    json_cursor = _b64(json.dumps([AT.isoformat(), str(ID)]))
    assert cursors.decode(json_cursor) == (AT, ID)
    assert cursors.decode(_b64(f"{AT.isoformat()}|{ID}")) == (AT, ID)
    assert cursors.decode_with_seq(_b64(f"{AT.isoformat()}|{ID}|3")) == (AT, ID, 3)


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",
        "not-base64!",
        "bm9wZQ",  # "nope"
        "bm90IGEgY3Vyc29y",  # "not a cursor"
        "MjAyNi0wMS0wMnx4",  # "2026-01-02|x"
        "WyJ4IiwgInkiXQ",  # '["x", "y"]'
        "WzEsIDJd",  # "[1, 2]"
        "WyJ4Ig",  # '["x"'
        _b64(f"2026-01-02T03:04:05|{ID}"),  # no zone: never one we issued
        _b64(f"{AT.isoformat()}|{ID}|3"),  # three parts where two belong
    ],
)
def test_a_cursor_we_did_not_issue_is_422_invalid_cursor(cursor: str) -> None:
    with pytest.raises(APIError) as caught:
        cursors.decode(cursor)
    assert (caught.value.status, caught.value.code) == (422, "INVALID_CURSOR")


@pytest.mark.parametrize(
    "cursor", [cursors.encode("x", "y", "z"), cursors.encode(AT, ID), cursors.encode(AT, ID, "x")]
)
def test_a_sequence_cursor_needs_a_time_an_id_and_a_number(cursor: str) -> None:
    with pytest.raises(APIError) as caught:
        cursors.decode_with_seq(cursor)
    assert caught.value.code == "INVALID_CURSOR"


def test_a_page_has_a_cursor_only_when_more_rows_exist() -> None:
    rows = [(AT - timedelta(minutes=i), uuid4()) for i in range(3)]
    page, cursor = cursors.cut(rows, 2, lambda r: r)
    assert page == rows[:2] and cursors.decode(cursor) == rows[1]
    assert cursors.cut(rows, 3, lambda r: r) == (rows, None)
