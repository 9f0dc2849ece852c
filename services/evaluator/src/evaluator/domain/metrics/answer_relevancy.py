"""Answer relevancy (Ragas): how well the answer addresses the question.

The judge writes the questions the answer would reply to (and flags a noncommittal answer);
the score is the mean similarity of those questions to the original one, 0 when noncommittal.
Ragas compares embeddings; no embedding model runs offline here, so the similarity is the
cosine of stemmed content-word counts (`domain.text.overlap_similarity`): deterministic and
explainable, though blind to synonyms.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from evaluator.domain.judge_json import parse_as
from evaluator.domain.metrics import prompts
from evaluator.domain.metrics.common import Binary, decimal_score, reply_tokens
from evaluator.domain.model import JudgePrompt, MetricOutcome, Row
from evaluator.domain.text import content_words, overlap_similarity, sentences

NAME = "answer_relevancy"
QUESTIONS = 3  # Ragas' default "strictness"


class Generated(BaseModel):
    questions: list[str] = Field(min_length=1)
    noncommittal: Binary = 0


def parse_questions(text: str) -> dict[str, Any]:
    """The generated questions (non-empty) and the noncommittal flag."""
    reply = parse_as(text, Generated)
    questions = [q.strip() for q in reply.questions if q.strip()]
    return {"questions": questions, "noncommittal": reply.noncommittal}


def likely_questions(row: Row) -> list[str]:
    """Stand-ins for the judge's questions (to size its reply): each restates the key words
    of one sentence of the answer, as "Where was Einstein born?" does for "Einstein was born
    in Germany."."""
    found = sentences(row.answer) or [row.answer]
    return [
        f"What about {' '.join(content_words(found[i % len(found)]))}?" for i in range(QUESTIONS)
    ]


def questions_prompt(row: Row) -> JudgePrompt:
    user = f"<answer>{row.answer}</answer>\n<count>{QUESTIONS}</count>"
    expected = reply_tokens({"questions": likely_questions(row), "noncommittal": 0})
    return JudgePrompt(
        "questions",
        prompts.ANSWER_RELEVANCY_QUESTIONS,
        user,
        parse_questions,
        expected_output=expected,
    )


def score(question: str, questions: list[str], noncommittal: int) -> MetricOutcome:
    """Mean similarity of the generated questions to the asked one; 0 when noncommittal."""
    similarities = [round(overlap_similarity(question, q), 6) for q in questions]
    mean = sum(similarities) / len(similarities) if similarities else 0.0
    reasoning = {
        "generated_questions": questions,
        "similarities": similarities,
        "noncommittal": noncommittal,
        "similarity": "cosine of stemmed content-word counts",
    }
    value = decimal_score(0.0 if noncommittal else mean)
    return MetricOutcome("succeeded", value, reasoning)


class AnswerRelevancy:
    """The answer relevancy metric."""

    name = NAME
    steps: tuple[str, ...] = ("questions",)

    def missing_fields(self, row: Row) -> list[str]:
        return [] if row.answer.strip() else ["answer"]

    def advance(
        self, row: Row, outputs: Sequence[Mapping[str, Any]]
    ) -> JudgePrompt | MetricOutcome:
        if not outputs:
            return questions_prompt(row)
        out = outputs[0]
        return score(row.question, list(out["questions"]), int(out["noncommittal"]))

    def forecast(self, row: Row) -> list[JudgePrompt]:
        return [questions_prompt(row)]
