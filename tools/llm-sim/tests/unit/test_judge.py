"""Deterministic judge answers for REX's marked prompts."""

import json

import pytest
from llm_sim import judge, models
from llm_sim.text import content_words, sentences


def test_claims_are_the_sentences_of_the_answer() -> None:
    user = "<question>Q?</question>\n<answer>Paris is in France. It has 2 million people!</answer>"
    reply = json.loads(judge.answer("[rex:faithfulness:claims] Extract claims.", user))
    assert reply == {"claims": ["Paris is in France.", "It has 2 million people!"]}


def test_a_claim_is_supported_when_most_content_words_occur_in_the_contexts() -> None:
    user = (
        "<context>Paris is the capital of France.</context>\n"
        "<context>The Seine flows through Paris.</context>\n"
        '<claims>["Paris is the capital of France.", "Berlin hosts the Louvre museum."]</claims>'
    )
    reply = json.loads(judge.answer("[rex:faithfulness:verdicts]", user))
    assert [v["verdict"] for v in reply["verdicts"]] == [1, 0]
    assert reply["verdicts"][0]["claim"] == "Paris is the capital of France."


def test_the_same_prompt_always_gets_the_same_answer() -> None:
    user = "<answer>One. Two.</answer>"
    assert judge.answer("[rex:faithfulness:claims]", user) == judge.answer(
        "[rex:faithfulness:claims]", user
    )


def test_an_unmarked_prompt_gets_a_plain_reply() -> None:
    assert judge.answer("Be helpful.", "What is RAG? Tell me.").startswith(
        "This is a simulated reply about: What is RAG?"
    )


def test_an_unknown_judge_task_is_answered_with_an_error_object() -> None:
    assert "error" in json.loads(judge.answer("[rex:nothing:here]", "x"))


def test_malformed_output_is_not_json() -> None:
    with pytest.raises(json.JSONDecodeError):
        json.loads(judge.malformed('{"claims": ["a", "b"]}'))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("A. B? C!", ["A.", "B?", "C!"]), ("  ", []), ("No end", ["No end"])],
)
def test_sentences(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_content_words_skip_stopwords_and_short_words() -> None:
    assert content_words("The cat is on the Mat of 2024") == {"cat", "mat", "2024"}


@pytest.mark.parametrize(
    ("requested", "returned"),
    [
        ("gpt-4o-mini", "gpt-4o-mini-2024-07-18"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5-20250929"),
        ("something-new", "something-new"),
    ],
)
def test_models_are_returned_as_dated_snapshots(requested: str, returned: str) -> None:
    assert models.dated(requested) == returned
