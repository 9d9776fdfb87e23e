"""Security checks of the demo shop, tied to the controls they give evidence for."""

import hashlib
import hmac

import pytest

pytestmark = pytest.mark.control("iso27001:A.8.5")  # secure authentication, for every test here

SESSION_KEY = b"demo-only-key"


def sign(session_id: str) -> str:
    return hmac.new(SESSION_KEY, session_id.encode(), hashlib.sha256).hexdigest()


def verify(session_id: str, signature: str) -> bool:
    return hmac.compare_digest(sign(session_id), signature)


@pytest.mark.unit
@pytest.mark.control("CC6.1", "PR.AA-03")
def test_tampered_session_is_rejected():
    assert not verify("user-42", sign("user-41"))


@pytest.mark.unit
@pytest.mark.control("CC6.1")
def test_valid_session_is_accepted():
    assert verify("user-42", sign("user-42"))


@pytest.mark.unit
@pytest.mark.control("CC6.7", "iso27001:A.8.24")
def test_card_numbers_are_never_stored_in_clear():
    stored = hashlib.sha256(b"4111111111111111").hexdigest()
    assert "4111111111111111" not in stored


@pytest.mark.unit
@pytest.mark.control("gdpr:Art.17", na="the demo shop keeps no personal data after checkout")
def test_no_personal_data_is_retained():
    retained_fields = []
    assert retained_fields == []
