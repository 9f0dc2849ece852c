"""Usage predicted before a run: prompt tokens counted offline, outputs learned, Anthropic
approximated and its prompt cache foreseen."""

from decimal import Decimal

import pytest
from evaluator.domain import tokens
from evaluator.domain.metrics import METRICS
from evaluator.domain.model import Judge, JudgePrompt, Row
from evaluator.domain.predict import (
    StepTotals,
    TokenCounter,
    anthropic_min_cacheable,
    forecast_usage,
    learned_ratio,
)
from rex_shared.events import Usage

ROWS = [
    Row(i, f"Question {i}?", ("Paris is in France.",), "Paris is in France. It is big.", "Paris.")
    for i in range(4)
]


def _prompt(system: str = "S" * 10, user: str = "hello world") -> JudgePrompt:
    return JudgePrompt("step", system, user, lambda t: {}, expected_output=10)


def _forecasts(metric: str, row: Row) -> list[JudgePrompt]:
    return METRICS[metric].forecast(row)


def test_openai_prompts_count_both_messages_and_the_framing() -> None:
    prompt = _prompt()
    counter = TokenCounter(Judge("openai", "gpt-4o-mini"))
    body = tokens.count(prompt.system) + tokens.count(prompt.user)
    assert counter.prompt(prompt) == body + 2 * 4 + 3


def test_legacy_openai_models_use_cl100k() -> None:
    assert tokens.encoding_for("gpt-4-0613") == "cl100k_base"
    assert tokens.encoding_for("gpt-4o") == tokens.encoding_for("o3") == "o200k_base"


def test_anthropic_prompts_are_o200k_scaled_by_the_documented_factor() -> None:
    prompt = _prompt("x " * 500, "y " * 500)
    plain = TokenCounter(Judge("anthropic", "claude-sonnet-4-5"), Decimal(1)).prompt(prompt)
    scaled = TokenCounter(Judge("anthropic", "claude-sonnet-4-5"), Decimal("1.10")).prompt(prompt)
    assert scaled == pytest.approx(plain * 1.1, abs=1)


def test_a_forecast_sums_calls_and_tokens_per_metric_step() -> None:
    counter = TokenCounter(Judge("openai", "gpt-4o-mini"))
    totals = {(t.metric, t.step): t for t in forecast_usage(ROWS, ["faithfulness"], _forecasts,
                                                             counter, {})}  # fmt: skip
    claims, verdicts = totals[("faithfulness", "claims")], totals[("faithfulness", "verdicts")]
    assert claims.calls == verdicts.calls == 4
    one = METRICS["faithfulness"].forecast(ROWS[0])
    assert claims.input_tokens == 4 * counter.prompt(one[0])
    assert claims.output_tokens == 4 * one[0].expected_output
    assert claims.cache_read_tokens == 0


def test_learned_ratios_scale_the_expected_outputs() -> None:
    counter = TokenCounter(Judge("openai", "gpt-4o-mini"))
    base = forecast_usage(ROWS, ["context_recall"], _forecasts, counter, {})
    doubled = forecast_usage(ROWS, ["context_recall"], _forecasts, counter,
                             {("context_recall", "attributions"): Decimal(2)})  # fmt: skip
    assert doubled[0].output_tokens == 2 * base[0].output_tokens
    assert doubled[0].input_tokens == base[0].input_tokens


def test_a_long_anthropic_system_prompt_is_written_once_then_read() -> None:
    long_prompt = _prompt("rule " * 3000)
    judge = Judge("anthropic", "claude-sonnet-4-5")
    [totals] = forecast_usage(ROWS, ["m"], lambda m, r: [long_prompt], TokenCounter(judge), {})
    prefix = TokenCounter(judge).system(long_prompt)
    assert prefix >= anthropic_min_cacheable("claude-sonnet-4-5")
    assert (totals.cache_write_tokens, totals.cache_read_tokens) == (prefix, 3 * prefix)


def test_the_average_call_is_rounded_up_and_keeps_its_parts_within_input() -> None:
    step = StepTotals("m", "s", 3, 1000, 100, cache_read_tokens=10, cache_write_tokens=5)
    assert step.per_call() == Usage(
        input_tokens=334, cache_read_tokens=4, cache_write_tokens=2, output_tokens=34
    )


@pytest.mark.parametrize(
    ("actual", "expected", "calls", "ratio"),
    [(150, 100, 20, Decimal("1.5")), (150, 100, 3, Decimal(1)), (1, 100, 50, Decimal("0.2")),
     (900, 100, 50, Decimal(5)), (5, 0, 50, Decimal(1))],
)  # fmt: skip
def test_learned_ratio(actual: int, expected: int, calls: int, ratio: Decimal) -> None:
    assert learned_ratio(actual, expected, calls) == ratio


@pytest.mark.parametrize(
    ("model", "minimum"),
    [("claude-haiku-4-5", 4096), ("claude-3-5-haiku-latest", 2048), ("claude-sonnet-4-5", 1024)],
)
def test_anthropic_cache_minimums(model: str, minimum: int) -> None:
    assert anthropic_min_cacheable(model) == minimum


def test_a_learned_input_ratio_replaces_the_anthropic_factor() -> None:
    prompt = _prompt("x " * 500, "y " * 500)
    judge = Judge("anthropic", "claude-sonnet-4-5")
    raw = TokenCounter(judge, Decimal(1)).prompt(prompt)
    assert TokenCounter(judge, Decimal("1.10"), Decimal(1)).prompt(prompt) == raw
    assert TokenCounter(judge, Decimal("1.10"), Decimal("1.2")).prompt(prompt) == pytest.approx(
        raw * 1.2, abs=1
    )
