"""An SVG whose size is not a finite number is BadInput with one line.

``width="NaN"`` (or ``inf``, ``1e999``) passed every size check (NaN compares false), and the fit
then raised "ValueError: cannot convert float NaN to integer": not BadInput, and the CLI said
"conversion failed: ValueError"."""

from __future__ import annotations

import pytest

from printstation import BadInput, PrinterSpec, convert


@pytest.mark.parametrize("attrs", [
    'width="NaN" height="40"', 'width="58" height="inf"', 'width="1e999" height="40"',
    'viewBox="0 0 NaN 40"', 'width="58mm" height="-inf"', 'viewBox="0 0 58 1e400"',
])
def test_a_size_that_is_not_a_finite_number_is_bad_input(attrs: str) -> None:
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" {attrs}><rect width="10" height="10"/></svg>'.encode()
    with pytest.raises(BadInput, match="^SVG has no usable width/height or viewBox$"):
        convert(svg, PrinterSpec())
