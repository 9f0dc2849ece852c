"""Rate limits are counted in PostgreSQL, so two instances share them."""

import asyncpg
import pytest
from rex_shared.api import APIError
from rex_shared.auth import Principal
from rex_shared.security import RATE_LIMIT_DDL, RateLimiter


async def test_two_limiters_on_one_database_share_the_count(
    scratch_schema: tuple[str, str],
) -> None:
    schema, dsn = scratch_schema
    pools = [
        await asyncpg.create_pool(dsn, server_settings={"search_path": schema}) for _ in range(2)
    ]
    try:
        await pools[0].execute(RATE_LIMIT_DDL)
        limiters = [RateLimiter(lambda p=p: p, per_principal=5, per_org=100) for p in pools]
        caller = Principal(sub="alice", org_id="org-1", roles=("member",))
        for i in range(5):
            await limiters[i % 2].check(caller)
        with pytest.raises(APIError) as err:
            await limiters[1].check(caller)
        assert err.value.status == 429 and err.value.code == "RATE_LIMITED"
        assert int(err.value.headers["Retry-After"]) >= 1
        # another user of the same org still has room; the org limit is separate
        await limiters[0].check(Principal(sub="bob", org_id="org-1", roles=("member",)))
    finally:
        for p in pools:
            await p.close()
