"""Predicting an evaluation's token usage before it runs (priced afterwards by the ledger).

- Input: the prompts the metrics will send, counted with the model's OpenAI encoding
  (`quicktok`, offline). Anthropic publishes no local tokenizer: its prompts are counted with
  o200k_base and multiplied by `anthropic_factor` (default 1.10: published comparisons put
  Claude at 5-30% more tokens than o200k for English text; erring high keeps reservations
  whole) until the model has past calls: then the learned actual/counted input ratio of its
  recent calls replaces the factor (OpenAI models learn it too; it stays ~1).
- Prompts of later steps depend on earlier replies; the metric's `forecast` stands in
  plausible ones (e.g. one claim per sentence of the answer).
- Output: each prompt's `expected_output` (the size of the reply it asks for), times the
  ratio actual/expected learned from past calls of this metric, step and model.
- Anthropic caching: the system prompt is the cached prefix; when it is long enough to be
  cached, the first call of a step writes it and the others read it.
"""

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from rex_shared.events import Usage

from evaluator.domain import tokens
from evaluator.domain.model import Judge, JudgePrompt, Row

Step = tuple[str, str]  # (metric, step)
INPUT: Step = ("*", "input")  # key of the learned actual/expected input ratio of a model
MIN_CALLS = 10
OPENAI_MESSAGE_OVERHEAD = 4  # role and framing tokens per chat message
OPENAI_REPLY_PRIMING = 3
ANTHROPIC_FRAMING = 5


@dataclass(frozen=True)
class StepTotals:
    """All calls of one metric step in a run, summed."""

    metric: str
    step: str
    calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def per_call(self) -> Usage:
        """The average call, rounded up (the ledger prices calls, not sums: a sum could cross
        a long-context threshold that no single call does)."""
        n = max(self.calls, 1)
        read, write = math.ceil(self.cache_read_tokens / n), math.ceil(self.cache_write_tokens / n)
        return Usage(
            input_tokens=max(math.ceil(self.input_tokens / n), read + write),
            cache_read_tokens=read,
            cache_write_tokens=write,
            output_tokens=math.ceil(self.output_tokens / n),
        )


def anthropic_min_cacheable(model: str) -> int:
    """The shortest prefix Anthropic caches for `model` (its prompt-caching docs)."""
    if model.startswith(("claude-haiku-4-5", "claude-opus-4-5")):
        return 4096
    if model.startswith(("claude-3-5-haiku", "claude-3-haiku")):
        return 2048
    return 1024


@dataclass(frozen=True)
class TokenCounter:
    """Prompt sizes as the judge's provider will count them."""

    judge: Judge
    anthropic_factor: Decimal = Decimal("1.10")
    learned: Decimal | None = None  # actual/counted input of the model's recent calls

    def _raw(self, text: str) -> int:
        encoding = "o200k_base"
        if self.judge.provider == "openai":
            encoding = tokens.encoding_for(self.judge.model)
        return tokens.count(text, encoding)

    def _scaled(self, n: int) -> int:
        if self.learned is not None:
            return math.ceil(Decimal(n) * self.learned)
        if self.judge.provider == "openai":
            return n
        return math.ceil(Decimal(n) * self.anthropic_factor)

    def system(self, prompt: JudgePrompt) -> int:
        return self._scaled(self._raw(prompt.system))

    def prompt(self, prompt: JudgePrompt) -> int:
        """All input tokens of the call."""
        body = self._raw(prompt.system) + self._raw(prompt.user)
        if self.judge.provider == "openai":
            return self._scaled(body + 2 * OPENAI_MESSAGE_OVERHEAD + OPENAI_REPLY_PRIMING)
        return self._scaled(body + ANTHROPIC_FRAMING)


def _add(totals: dict[Step, list[int]], key: Step, values: Iterable[int]) -> None:
    current = totals.setdefault(key, [0, 0, 0, 0])
    for i, v in enumerate(values):
        current[i] += v


def forecast_usage(
    rows: Sequence[Row],
    metrics: Sequence[str],
    forecasts: Callable[[str, Row], list[JudgePrompt]],
    counter: TokenCounter,
    output_ratio: Mapping[Step, Decimal],
) -> list[StepTotals]:
    """Expected calls and tokens per (metric, step) over all rows."""
    sums: dict[Step, list[int]] = {}  # calls, input, output, system-prefix tokens
    for row in rows:
        for metric in metrics:
            for prompt in forecasts(metric, row):
                ratio = output_ratio.get((metric, prompt.step), Decimal(1))
                output = math.ceil(Decimal(prompt.expected_output) * ratio)
                prefix = counter.system(prompt)
                _add(sums, (metric, prompt.step), (1, counter.prompt(prompt), output, prefix))
    return [_totals(key, v, counter.judge) for key, v in sums.items()]


def _totals(key: Step, v: list[int], judge: Judge) -> StepTotals:
    calls, input_tokens, output, prefix_sum = v
    read = write = 0
    prefix = prefix_sum // calls if calls else 0
    if judge.provider == "anthropic" and prefix >= anthropic_min_cacheable(judge.model):
        write, read = prefix, prefix * (calls - 1)  # the first call writes, the rest read
    return StepTotals(key[0], key[1], calls, input_tokens, output, read, write)


def learned_ratio(actual: int, expected: int, calls: int, *, min_calls: int = MIN_CALLS) -> Decimal:
    """actual/expected output tokens of past calls, once there are enough of them, bounded
    to [0.2, 5] so one odd run cannot wreck predictions; 1 otherwise."""
    if calls < min_calls or expected <= 0:
        return Decimal(1)
    return min(max(Decimal(actual) / Decimal(expected), Decimal("0.2")), Decimal(5))
