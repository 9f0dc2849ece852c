"""Usage equals the ledger's sum exactly after duplicates and a SIGKILL of a real process.

10,000 events here keep the tier fast; `bench/budget_exactness.py` runs 100,000.
"""

from rex_testkit.budget.scenarios import run_exactness
from rex_testkit.infra import Infra


async def test_usage_is_exact_after_duplicates_and_a_crash_of_the_service(
    infra: Infra, jwt_secret: str
) -> None:
    run = await run_exactness(
        n=10_000,
        admin_dsn=infra.pg_admin_dsn,
        bootstrap=infra.kafka_bootstrap,
        jwt_secret=jwt_secret,
        kill_at=0.3,
        within=60.0,
    )
    assert run.published > run.events  # duplicates were sent
    assert 0 < run.counted_at_kill < run.events  # the crash came part-way
    assert run.actual == run.expected
