"""Where the simulated judge and tokenizer differ from the evaluator's predictor, on purpose."""

import json

import pytest
from llm_sim import judge, style, tokens
from llm_sim.text import claims, sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Utzon designed it; it opened in 1973.", ["Utzon designed it", "it opened in 1973."]),
        (
            "It opened on 20 October 1973 and was inaugurated by the Queen.",
            ["It opened on 20 October 1973", "was inaugurated by the Queen."],
        ),
        ("It is in Paris, and it is tall.", ["It is in Paris", "it is tall."]),
        ("Water boils at 100 C. That is 212 F.", ["Water boils at 100 C. That is 212 F."]),
        ("Cats and dogs are pets.", ["Cats and dogs are pets."]),  # no clause of 3+ words
    ],
)
def test_claims_split_clauses_and_merge_continuations(text: str, expected: list[str]) -> None:
    assert claims(text) == expected


def test_some_answers_of_three_or_more_claims_get_a_restated_claim() -> None:
    texts = [f"Fact {i} holds. Fact {i} is old. Fact {i} is new." for i in range(30)]
    restated = [c for c in map(claims, texts) if len(c) == 4]
    assert 5 <= len(restated) <= 15  # about one in three, always the same ones
    assert all(c[3] == f"To restate: {c[0]}" for c in restated)
    assert [claims(t) for t in texts] == [claims(t) for t in texts]


def test_reasons_vary_in_length_with_the_item_judged() -> None:
    listed = json.dumps([f"The tower number {i} stands in Paris." for i in range(12)])
    user = f"<context>The tower stands in Paris.</context><claims>{listed}</claims>"
    reply = json.loads(judge.answer("[rex:faithfulness:verdicts]", user))
    lengths = {len(v["reason"]) for v in reply["verdicts"]}
    assert len(lengths) >= 3 and all(v["verdict"] == 1 for v in reply["verdicts"])


def test_claude_counts_more_tokens_than_o200k_and_far_more_for_korean() -> None:
    english = "The Eiffel Tower stands on the Champ de Mars in Paris. " * 20
    korean = "대한민국의 수도는 서울이며 한강이 도시를 가로질러 흐릅니다. " * 20
    assert 1.1 < tokens.claude_count(english) / tokens.count(english) < 1.35
    assert tokens.claude_count(korean) / tokens.count(korean) > 1.6
    assert tokens.claude_count(english) == len(tokens.claude_encode(english))


def test_claude_ids_follow_o200k_token_by_token_so_prompt_caching_still_works() -> None:
    text = "You are a careful judge. Answer in JSON. " * 10
    ids = tokens.claude_encode(text)
    assert [i for i in ids if i < 1 << 24] == tokens.encode(text)  # extras follow their token


def test_claude_truncate_cuts_to_at_most_the_limit() -> None:
    text, used, cut = tokens.claude_truncate("One two three four five six seven eight.", 4)
    assert cut and used <= 4 and tokens.claude_count(text) == used
    assert tokens.claude_truncate("Short.", None) == (
        "Short.",
        tokens.claude_count("Short."),
        False,
    )


@pytest.mark.parametrize(
    ("model", "spaces"),
    [("gpt-4o-mini", 0), ("gpt-4.1", 4), ("claude-haiku-4-5", 2), ("claude-sonnet-4-6", 4)],
)
def test_the_json_layout_depends_on_the_model_not_the_content(model: str, spaces: int) -> None:
    reply = json.dumps({"claims": ["A.", "B."]})
    laid_out = style.styled(model, reply)
    assert json.loads(laid_out) == {"claims": ["A.", "B."]}
    assert (laid_out == reply) == (spaces == 0)
    assert spaces == 0 or f'\n{" " * spaces}"claims"' in laid_out
    assert style.styled(model, "not json. " + reply) == "not json. " + reply


def test_sentences_are_still_the_plain_split() -> None:
    assert sentences("Utzon designed it; it opened in 1973.") == [
        "Utzon designed it; it opened in 1973."
    ]
