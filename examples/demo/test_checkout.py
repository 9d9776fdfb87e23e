"""A tiny shop checkout, tested the way a real project would be: mostly green, one real bug."""

import pytest


def total(prices, discount=0.0):
    subtotal = sum(prices)
    return round(subtotal * (1 - discount), 2)


@pytest.mark.unit
def test_total_of_empty_cart_is_zero():
    assert total([]) == 0


@pytest.mark.unit
@pytest.mark.parametrize(("prices", "expected"), [([1.0], 1.0), ([1.5, 2.5], 4.0), ([0.1, 0.2], 0.3)])
def test_total_adds_prices(prices, expected):
    assert total(prices) == expected


@pytest.mark.unit
@pytest.mark.severity("high")
@pytest.mark.control("PI1.3")
def test_discount_is_applied():
    assert total([100.0], discount=0.15) == 85.0


@pytest.mark.unit
@pytest.mark.severity("critical")
@pytest.mark.control("PI1.3")  # processing integrity: outputs are complete and accurate
def test_discount_never_makes_total_negative():
    # The bug this demo keeps on purpose: a discount above 100% yields a negative total.
    assert total([10.0], discount=1.5) >= 0


@pytest.mark.unit
@pytest.mark.skip(reason="currency conversion not implemented yet")
def test_total_in_other_currency():
    pass


@pytest.mark.unit
@pytest.mark.xfail(reason="rounding of half-cents is a known defect", strict=True)
def test_half_cent_rounding():
    assert total([0.125]) == 0.13
