"""The HTTP request bodies and their translation into commands."""

from typing import Literal, Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from evaluator.domain.model import Judge, Row
from evaluator.handlers.evaluations import SubmitEvaluation

_TEXT = 100_000  # characters per field: generous for RAG contexts, bounded for the database


class RowIn(BaseModel):
    """One question, the contexts retrieved for it, and the answer to judge."""

    question: str = Field(min_length=1, max_length=_TEXT)
    contexts: list[str] = Field(max_length=200)
    answer: str = Field(max_length=_TEXT)
    ground_truth: str | None = Field(None, max_length=_TEXT)


class JudgeIn(BaseModel):
    provider: Literal["openai", "anthropic"] = "openai"
    model: str = Field("gpt-4o-mini", min_length=1, max_length=200)


_EXAMPLE: JsonDict = {
    "project_id": "default",
    "metrics": ["faithfulness"],
    "judge": {"provider": "openai", "model": "gpt-4o-mini"},
    "rows": [
        {
            "question": "Where is the Eiffel Tower?",
            "contexts": ["The Eiffel Tower is a wrought-iron lattice tower in Paris."],
            "answer": "It is in Paris.",
        }
    ],
}


class EvaluationIn(BaseModel):
    """`POST /api/v1/evaluations` (and `/estimate`): a stored dataset or inline rows."""

    # A valid body in the document: clients see one, and schemathesis sends it, so the
    # success replies are checked against their documented shape too.
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    project_id: str = Field("default", min_length=1, max_length=200)
    metrics: list[str] = Field(min_length=1, max_length=20)
    judge: JudgeIn = JudgeIn()
    rows: list[RowIn] | None = Field(None, min_length=1)
    dataset_id: UUID | None = None
    name: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.rows is None) == (self.dataset_id is None):
            raise ValueError("give either rows or dataset_id")
        return self

    def command(
        self, *, org_id: str, user_id: str, rows: tuple[Row, ...] | None = None
    ) -> SubmitEvaluation:
        """The submit command, paid by the caller's organization."""
        if rows is None:
            rows = tuple(
                Row(i, r.question, tuple(r.contexts), r.answer, r.ground_truth)
                for i, r in enumerate(self.rows or [])
            )
        return SubmitEvaluation(
            org_id=org_id,
            project_id=self.project_id,
            user_id=user_id,
            metrics=tuple(self.metrics),
            judge=Judge(self.judge.provider, self.judge.model),
            rows=rows,
            name=self.name,
            dataset_id=self.dataset_id,
        )


class ProviderKeyIn(BaseModel):
    """`PUT /api/v1/provider-keys/{provider}`."""

    api_key: str = Field(min_length=8, max_length=500)
