"""Secrets at rest: sealed, bound to their context, rotatable."""

import pytest
from rex_shared.crypto import SecretBox, last4, new_kek


def test_a_secret_round_trips_and_the_ciphertext_does_not_contain_it() -> None:
    box = SecretBox(new_kek())
    blob = box.encrypt("sk-live-abcdef123456", context="org-1:openai")
    assert b"sk-live" not in blob and b"123456" not in blob
    assert box.decrypt(blob, context="org-1:openai") == "sk-live-abcdef123456"


def test_a_ciphertext_moved_to_another_org_does_not_decrypt() -> None:
    box = SecretBox(new_kek())
    blob = box.encrypt("secret", context="org-1:openai")
    with pytest.raises(ValueError):
        box.decrypt(blob, context="org-2:openai")


def test_a_tampered_ciphertext_does_not_decrypt() -> None:
    box = SecretBox(new_kek())
    blob = bytearray(box.encrypt("secret", context="c"))
    blob[-1] ^= 1
    with pytest.raises(ValueError):
        box.decrypt(bytes(blob), context="c")


def test_rotation_re_encrypts_under_the_new_primary_key() -> None:
    old = new_kek("k1")
    blob = SecretBox(old).encrypt("secret", context="c")
    both = SecretBox(f"{new_kek('k2')},{old}")
    assert both.key_id_of(blob) == "k1"
    rotated = both.rotate(blob, context="c")
    assert both.key_id_of(rotated) == "k2"
    assert both.decrypt(rotated, context="c") == "secret"
    with pytest.raises(ValueError, match="not configured"):
        SecretBox(new_kek("k3")).decrypt(rotated, context="c")


@pytest.mark.parametrize("keks", ["", "k1:c2hvcnQ=", ":" + "A" * 44])
def test_bad_key_configuration_is_refused(keks: str) -> None:
    with pytest.raises(ValueError):
        SecretBox(keks)


def test_only_the_last_four_characters_are_shown() -> None:
    assert last4("sk-abcdefgh1234") == "...1234"
    assert last4("short") == "..."
