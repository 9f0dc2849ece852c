"""Uploaded datasets: JSON, JSONL and CSV read into rows; every bad row and field named."""

import pytest
from evaluator.domain.datasets import (
    DatasetError,
    Limits,
    parse_csv,
    parse_json,
    parse_jsonl,
    rows_from,
)
from evaluator.domain.model import Row

GOOD = {"question": "Q?", "contexts": ["c1", "c2"], "answer": "A.", "ground_truth": "G."}


def test_json_with_a_name_and_rows() -> None:
    name, items = parse_json(b'{"name": "mine", "rows": [{"question": "Q?"}]}')
    assert name == "mine" and items == [{"question": "Q?"}]
    assert parse_json(b"[]") == (None, [])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"rows": 1}', "expected"),
        (b"{nope", "invalid JSON at line 1"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"name": 3, "rows": []}', "name must be a string"),
    ],
)
def test_unreadable_json_says_why(body: bytes, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        parse_json(body)


def test_jsonl_skips_blank_lines_and_names_a_broken_line() -> None:
    assert parse_jsonl(b'{"a": 1}\n\n{"b": 2}\n') == [{"a": 1}, {"b": 2}]
    with pytest.raises(DatasetError, match="line 2 is not JSON") as err:
        parse_jsonl(b'{"a": 1}\n{broken\n')
    assert err.value.errors[0]["line"] == 2


def test_csv_reads_contexts_as_a_json_list_or_separated_texts() -> None:
    body = (
        b"question,contexts,answer,ground_truth\n"
        b'Q1?,"[""c1"", ""c2""]",A1.,G1.\n'
        b"Q2?,c3 || c4,A2.,\n"
    )
    rows = rows_from(parse_csv(body), Limits())
    assert rows == (
        Row(0, "Q1?", ("c1", "c2"), "A1.", "G1."),
        Row(1, "Q2?", ("c3", "c4"), "A2.", None),
    )


def test_a_csv_without_the_required_columns_is_refused() -> None:
    with pytest.raises(DatasetError, match="lacks column"):
        parse_csv(b"question,answer\nq,a\n")


def test_every_bad_row_and_field_is_named() -> None:
    items = [GOOD, {"question": "", "contexts": "c", "answer": 3}, "not an object", GOOD]
    with pytest.raises(DatasetError) as err:
        rows_from(items, Limits())
    assert err.value.errors == [
        {"row": 1, "field": "question", "message": "question must not be empty"},
        {"row": 1, "field": "answer", "message": "answer must be a string"},
        {"row": 1, "field": "contexts", "message": "contexts must be a list of strings"},
        {"row": 2, "field": None, "message": "a row must be a JSON object"},
    ]
    assert str(err.value).startswith("4 problem(s) in the rows; first: rows[1].question")


def test_limits_on_rows_and_field_sizes() -> None:
    with pytest.raises(DatasetError, match="at most 2 rows"):
        rows_from([GOOD] * 3, Limits(max_rows=2))
    with pytest.raises(DatasetError) as err:
        rows_from([{**GOOD, "answer": "x" * 100_001}], Limits())
    assert err.value.errors[0]["field"] == "answer"
    with pytest.raises(DatasetError, match="no rows"):
        rows_from([], Limits())


def test_good_rows_become_rows_in_order() -> None:
    rows = rows_from([GOOD, {**GOOD, "ground_truth": None}], Limits())
    assert [r.index for r in rows] == [0, 1] and rows[1].ground_truth is None
