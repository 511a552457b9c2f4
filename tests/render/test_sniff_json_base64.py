"""Base64 as it leaves a JSON answer: WB sends every sticker as a base64 string in JSON
(``{"stickers": [{"file": "iVBOR…"}]}``). Saved with ``jq .stickers[0].file`` (no ``-r``) it keeps
its quotes; PHP-style encoders write ``/`` as ``\\/``; line-broken base64 comes out with ``\\n``
escapes; base64url writers drop the ``=`` padding. Each was refused as "unrecognised label format"
or "Incorrect padding" depending on the length of the sticker."""

from __future__ import annotations

import base64
import json

import pytest

from printstation import BadInput
from printstation.render.sniff import sniff
from support import labelgen as lg

STICKERS = {
    "png": lg.wb_sticker_png("!Ab12Cd34", size=(40, 30)),
    "svg": lg.wb_sticker_svg("!Ab12Cd34", size=(40, 30)),
    "zpl": lg.wb_sticker_zpl("!Ab12Cd34", size=(40, 30)),
}


def _padded_lengths() -> list[tuple[str, bytes]]:
    """Payloads of every length mod 3 (one, two or no '=' of padding)."""
    out = []
    for kind, data in STICKERS.items():
        for extra in range(3):
            payload = data + b"\n" * extra if kind != "png" else data + b"\0" * extra
            out.append((kind, payload))
    return out


@pytest.mark.parametrize("kind,data", _padded_lengths())
def test_quoted_json_string_with_escaped_slashes_and_newlines(kind: str, data: bytes) -> None:
    b64 = base64.encodebytes(data).decode()  # line breaks every 76 chars, '/' in the alphabet
    for text in (json.dumps(b64), json.dumps(b64).replace("/", "\\/"), json.dumps(b64.replace("\n", ""))):
        s = sniff(text.encode() + b"\n")
        assert (s.kind, s.data) == (kind, data)


@pytest.mark.parametrize("kind,data", _padded_lengths())
def test_unpadded_base64_and_base64url(kind: str, data: bytes) -> None:
    for enc in (base64.b64encode, base64.urlsafe_b64encode):
        s = sniff(enc(data).rstrip(b"="))
        assert (s.kind, s.data) == (kind, data)


@pytest.mark.parametrize("text,message", [
    (b'"not base64 at all!"', "unrecognised label format"),
    (b'"\\u00ff\\u00fe"', "unrecognised label format"),
    (b'"abc', "unrecognised label format"),
    (b'"QUJDREVGR0g"', "base64 text decodes to an unrecognised format"),
    (b"QUJDREVGR0g", "base64 text decodes to an unrecognised format"),
    (b"iVBORw0KGgoAB", "corrupt base64 label"),
])
def test_what_is_not_a_label_is_still_refused(text: bytes, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        sniff(text)
