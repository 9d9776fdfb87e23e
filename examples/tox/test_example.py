import sys


def test_arithmetic():
    assert 2 + 2 == 4


def test_python_version_is_known():
    assert sys.version_info >= (3, 10)
