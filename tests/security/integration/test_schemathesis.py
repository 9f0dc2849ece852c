"""Schemathesis against each service's OpenAPI document, with a valid admin token.

Each service runs in this process on real PostgreSQL and Kafka, served on a loopback port in
the test's event loop; the schemathesis calls (blocking `requests`) run in a worker thread.
Every operation under /api/v1 gets a bounded, deterministic set of positive examples (data that
fits the document) and negative ones (data that does not). Checks:

- positive: no 5xx; the status code is one the document declares, and the body matches the
  schema documented for it (the success envelope, or the error envelope for 4xx), as does the
  content type;
- negative: no 5xx; the invalid request is refused with a 4xx, declared and in the envelope.

`SEC_SCHEMATHESIS_EXAMPLES` (default 25) raises the number of positive examples per operation;
negative ones are three fifths of it.
"""

import asyncio
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)
from sec_apps import SERVICES
from sec_world import new_org

EXAMPLES = int(os.environ.get("SEC_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = {
    GenerationMode.POSITIVE: [
        not_a_server_error,
        status_code_conformance,
        response_schema_conformance,
        content_type_conformance,
    ],
    GenerationMode.NEGATIVE: [
        not_a_server_error,
        negative_data_rejection,
        status_code_conformance,
        response_schema_conformance,
    ],
}


@dataclass
class Findings:
    """Distinct failures (operation, check, status) with one example each, and a count."""

    seen: dict[tuple[str, str, int], str] = field(default_factory=dict)
    requests: int = 0

    def add(self, label: str, failure: BaseException, status: int, curl: str) -> None:
        title = getattr(failure, "title", type(failure).__name__)
        message = getattr(failure, "message", str(failure)).strip()
        self.seen.setdefault((label, title, status), f"{message[:600]}\n    {curl[:600]}")

    def report(self) -> str:
        return "\n".join(f"- {k[0]} [{k[1]}] -> {k[2]}: {v}" for k, v in self.seen.items())


def _examples(mode: GenerationMode) -> int:
    return EXAMPLES if mode is GenerationMode.POSITIVE else max(1, EXAMPLES * 3 // 5)


def _exercise(
    operation: Any, mode: GenerationMode, url: str, headers: dict[str, str], found: Findings
) -> None:
    @settings(
        max_examples=_examples(mode),
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        found.requests += 1
        status = 0
        try:
            response = case.call(base_url=url, headers=headers, timeout=30)
            status = response.status_code
            case.validate_response(response, checks=CHECKS[mode], headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                found.add(operation.label, failure, status, case.as_curl_command())
        except Failure as failure:
            found.add(operation.label, failure, status, case.as_curl_command())
        except Exception as exc:  # a transport or check error: report it with its cause
            detail = "".join(traceback.format_exception(exc)[-3:])
            found.add(operation.label, RuntimeError(detail), status, case.as_curl_command())

    run()


def _run_all(spec: dict[str, Any], url: str, headers: dict[str, str]) -> Findings:
    schema = schemathesis.openapi.from_dict(spec)
    found = Findings()
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # the document itself is broken here
            found.seen[("?", "invalid schema", 0)] = str(result.err())[:600]
            continue
        operation = result.ok()
        if not operation.path.startswith("/api/v1"):
            continue
        for mode in CHECKS:
            try:
                _exercise(operation, mode, url, headers, found)
            except Unsatisfiable:
                # Nothing about the operation can be made invalid (e.g. only a free-text path
                # parameter and no body): there is no negative case to send.
                if mode is not GenerationMode.NEGATIVE:
                    raise
            except Exception as exc:  # generation itself failed: report it, go on
                inner = getattr(exc, "exceptions", None) or [exc]
                detail = "".join(traceback.format_exception(inner[0])[-4:]).strip()
                found.seen[(operation.label, f"cannot generate {mode.value}", 0)] = detail[:600]
    return found


def _admin(verifier: Any) -> Callable[[], dict[str, str]]:
    return lambda: new_org(verifier, "fuzz").admin


# Schemathesis' negative generation draws from `random` inside strategies, which Hypothesis
# reports as a deprecation; that is the tool's business, not the services'.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("service", SERVICES)
async def test_schemathesis_finds_no_5xx_and_no_schema_violation(
    service: str, system: Any, verifier: Any
) -> None:
    served = system[service]
    headers = _admin(verifier)()
    found = await asyncio.to_thread(_run_all, served.openapi, served.url, headers)
    assert found.requests > 0
    assert not found.seen, (
        f"{service}: {len(found.seen)} distinct failures in {found.requests} "
        f"requests:\n{found.report()}"
    )
