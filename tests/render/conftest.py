"""Fixtures of the render tests."""

import sys

import pytest


@pytest.fixture
def fresh_detection():
    """No conversion or barcode detection remembered from another test, before or after."""
    from printstation.render import barcodes

    sys.modules["printstation.pipeline"]._CACHE.clear()
    barcodes._DETECTED.clear()
    yield
    barcodes._DETECTED.clear()
