"""Service tokens for the ledger and budget calls: minted per org, reused, headers ASCII."""

import secrets

from evaluator.adapters.peer_http import ServiceTokens
from rex_shared.auth import JwtVerifier


def test_a_service_token_acts_for_the_org_and_names_the_user_in_ascii() -> None:
    verifier = JwtVerifier(secrets.token_urlsafe(48))
    tokens = ServiceTokens(verifier)
    headers = tokens.headers("acme", "zoë@example.com")
    principal = verifier.verify(headers["Authorization"].removeprefix("Bearer "))
    assert (principal.sub, principal.org_id, principal.roles) == ("evaluator", "acme", ("service",))
    assert headers["X-Rex-On-Behalf-Of"] == "zo%C3%AB@example.com"
    assert headers["X-Rex-On-Behalf-Of"].isascii()
    assert tokens.headers("acme", "bob")["Authorization"] == headers["Authorization"]
