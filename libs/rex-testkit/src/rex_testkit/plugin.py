"""Pytest plugin: tier markers from folders, real infrastructure, schemas and tokens."""

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rex_shared.auth import JwtVerifier

from rex_testkit import infra as infra_mod

TIERS = ("unit", "wiring", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test's tier is the folder it lives in (tests/unit, tests/integration, ...)."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for tier in TIERS:
            if tier in parts:
                item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def infra() -> Iterator[infra_mod.Infra]:
    """Real Kafka and PostgreSQL for the whole session."""
    found = infra_mod.acquire()
    yield found
    infra_mod.release(found)


@pytest.fixture(scope="session")
def jwt_secret() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture(scope="session")
def verifier(jwt_secret: str) -> JwtVerifier:
    return JwtVerifier(jwt_secret)


@pytest.fixture(scope="session")
def auth_headers(verifier: JwtVerifier) -> Callable[..., dict[str, str]]:
    """Headers with a bearer token for (org, user, roles)."""

    def make(
        org_id: str, user_id: str = "user-1", roles: tuple[str, ...] = ("admin",)
    ) -> dict[str, str]:
        token = verifier.mint(sub=user_id, org_id=org_id, roles=list(roles))
        return {"Authorization": f"Bearer {token}"}

    return make


def migrations_dir(service: str) -> Path:
    """`migrations/<service>` in this repository."""
    path: Path = infra_mod.repo_root() / "migrations" / service
    return path
