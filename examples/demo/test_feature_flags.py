"""Checkout features behind flags: each test runs once per flag value it names."""

import pytest

from pytest_enterprise.flags.feature_flags import enterprise_feature, flag_manager


@enterprise_feature("express_checkout", "One-click checkout", default=False)
def checkout_steps(user_id=None):
    return ["confirm"]


@checkout_steps.fallback
def classic_checkout_steps(user_id=None):
    return ["address", "payment", "confirm"]


def cart_columns(user_id):
    layout = flag_manager.get_variant("checkout_layout", user_id=user_id)
    return 2 if layout == "compact" else 3


@pytest.mark.unit
@pytest.mark.flags("express_checkout")
def test_checkout_always_ends_with_confirmation():
    assert checkout_steps(user_id="customer-7")[-1] == "confirm"


@pytest.mark.unit
@pytest.mark.flags("checkout_layout")
def test_cart_fits_on_a_phone():
    assert cart_columns("customer-7") <= 3


@pytest.mark.integration
@pytest.mark.flags("express_checkout", "checkout_layout")
def test_checkout_page_renders():
    assert checkout_steps(user_id="customer-7") and cart_columns("customer-7")


def test_gift_wrap_can_be_switched_off_for_one_test(feature_flags):
    feature_flags.set("gift_wrap", False)
    assert not flag_manager.is_enabled("gift_wrap")


def test_gift_wrap_is_offered():
    assert flag_manager.is_enabled("gift_wrap")
