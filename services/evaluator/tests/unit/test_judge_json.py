"""Judge replies are read robustly, and malformed ones say what is wrong."""

import pytest
from evaluator.domain.judge_json import MalformedJudgeOutput, extract_object, parse_as
from pydantic import BaseModel


class _Shape(BaseModel):
    claims: list[str]


@pytest.mark.parametrize(
    "text",
    [
        '{"claims": ["a"]}',
        '```json\n{"claims": ["a"]}\n```',
        'Sure! {"claims": ["a"]} Hope that helps.',
        '\n\n  {"claims": ["a"]}  ',
    ],
)
def test_the_json_object_is_found_wherever_it_is(text: str) -> None:
    assert extract_object(text) == {"claims": ["a"]}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("no json here", "no JSON object"),
        ('{"claims": ["a"', "no JSON object"),
        ('{"claims": ["a",]}', "invalid JSON"),
        ("", "no JSON object"),
    ],
)
def test_text_without_a_valid_object_is_malformed(text: str, reason: str) -> None:
    with pytest.raises(MalformedJudgeOutput, match=reason):
        extract_object(text)


def test_a_json_array_is_not_an_object() -> None:
    with pytest.raises(MalformedJudgeOutput):
        extract_object('[{"a": 1}, {"b": 2}]')


def test_the_wrong_shape_names_the_field() -> None:
    with pytest.raises(MalformedJudgeOutput, match="claims"):
        parse_as('{"statements": []}', _Shape)
