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


def test_generated_questions_restate_each_sentence_and_flag_noncommittal_answers() -> None:
    user = "<answer>Paris is in France. It is big.</answer>\n<count>3</count>"
    reply = json.loads(judge.answer("[rex:answer_relevancy:questions]", user))
    assert reply["questions"] == [
        "What is known about france paris?",
        "What is known about big?",
        "What is known about france paris?",
    ]
    assert reply["noncommittal"] == 0
    vague = "<answer>I don't know, it depends.</answer><count>1</count>"
    assert json.loads(judge.answer("[rex:answer_relevancy:questions]", vague))["noncommittal"] == 1


def test_a_context_is_useful_when_it_shares_a_third_of_the_references_words() -> None:
    user = (
        "<question>q</question><reference>Paris is the capital of France.</reference>"
        "<context>Paris has many museums.</context><context>Bananas are yellow.</context>"
    )
    reply = json.loads(judge.answer("[rex:context_precision:verdicts]", user))
    assert [v["verdict"] for v in reply["verdicts"]] == [1, 0]


def test_reference_sentences_are_attributed_when_the_contexts_support_them() -> None:
    user = (
        "<question>q</question><context>Paris is the capital of France.</context>"
        "<reference>Paris is the capital of France. Berlin hosts the Louvre.</reference>"
    )
    reply = json.loads(judge.answer("[rex:context_recall:attributions]", user))
    assert [a["attributed"] for a in reply["attributions"]] == [1, 0]


def test_answer_correctness_splits_then_classifies_statements() -> None:
    split = json.loads(
        judge.answer(
            "[rex:answer_correctness:statements]",
            "<answer>Paris is in France. Cats bark.</answer><reference>Paris is in France. "
            "It is the capital.</reference>",
        )
    )
    assert split == {
        "answer_statements": ["Paris is in France.", "Cats bark."],
        "reference_statements": ["Paris is in France.", "It is the capital."],
    }
    user = (
        f"<answer_statements>{json.dumps(split['answer_statements'])}</answer_statements>"
        f"<reference_statements>{json.dumps(split['reference_statements'])}"
        "</reference_statements>"
    )
    classified = json.loads(judge.answer("[rex:answer_correctness:classify]", user))
    assert [i["statement"] for i in classified["TP"]] == ["Paris is in France."]
    assert [i["statement"] for i in classified["FP"]] == ["Cats bark."]
    assert [i["statement"] for i in classified["FN"]] == ["It is the capital."]
