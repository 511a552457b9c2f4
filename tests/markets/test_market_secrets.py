"""Tokens never show: not in logs (ours, httpx's, httpcore's), errors, reprs or cache paths."""

from __future__ import annotations

import logging
import os
import pickle

import pytest

from printstation.face.cli import main
from printstation.errors import PrintstationError
from printstation.markets import AliClient, LabelCache, LabelFetcher, RetryPolicy, Secret, WBClient
from printstation.markets.settings import resolve_credentials

from conftest import FAST_BURST, FAST_RATE


def test_secret_hides_itself():
    s = Secret("Bearer top-secret-token-1")
    assert s.reveal() == "top-secret-token-1"
    assert "top-secret" not in repr(s) and "top-secret" not in str(s) and "top-secret" not in f"{s}"
    with pytest.raises(TypeError):
        pickle.dumps(s)


def test_token_never_in_logs_errors_reprs_or_paths(fake_wb, fake_ali, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)  # includes httpx/httpcore debug output
    texts: list[str] = []
    retry = RetryPolicy(retries=1, base=0.001, cap=0.002)
    wb = WBClient(fake_wb.url, fake_wb.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=retry)
    ali = AliClient(fake_ali.url, fake_ali.token, rate_per_min=FAST_RATE, burst=FAST_BURST, retry=retry)
    f = LabelFetcher(wb=wb, ali=ali, cache=LabelCache(tmp_path))
    texts += [repr(wb), str(wb), repr(ali), repr(f), repr(wb.bucket), repr(vars(wb).get("_token"))]

    ids = fake_wb.add_orders(3)
    fake_wb.corrupt(ids[0])
    texts += [repr(r) for r in f.wb_order_stickers(ids)]
    a = fake_ali.add_order()
    f.ali_label(a["logistic_order_id"])

    def fails(fn, *args):
        with pytest.raises(PrintstationError) as ei:
            fn(*args)
        texts.extend([str(ei.value), repr(ei.value), str(ei.value.__cause__), str(ei.value.__context__)])

    # a server that echoes the token back in its error text
    fake_wb.fail_next(1, status=400, body={"code": "BadToken", "message": f"token {fake_wb.token} is odd"})
    fails(wb.new_orders)
    fake_wb.fail_next(1, status=401, body=f"proxy: invalid token {fake_wb.token}")
    fails(wb.new_orders)
    fake_wb.fail_next(5, status=503, body=f"upstream said {fake_wb.token}")
    fails(wb.new_orders)
    fake_wb.drop_next(5)
    fails(wb.new_orders)
    fake_ali.fail_next(1, status=400, body={"data": None, "error": {"code": "X", "message": fake_ali.token}})
    fails(ali.labels, [a["logistic_order_id"]])
    fails(WBClient(fake_wb.url, "wrong-token-" + "x" * 20, retry=retry).new_orders)
    fails(f.wb_order_sticker, ids[0])

    texts.append(caplog.text)
    texts += [str(p) for p in tmp_path.rglob("*")]
    blob = "\n".join(texts)
    assert "token *** is odd" in blob and "upstream said ***" in blob  # echoed, then masked
    for token in (fake_wb.token, fake_ali.token):
        assert token not in blob
        for part in (token[:12], token[-12:]):
            assert part not in blob


def test_cli_error_lines_never_show_the_token(market_env, capsys, monkeypatch, tmp_path):
    wb = market_env["wb"]
    wb.fail_next(10, status=400, body={"code": "X", "message": f"echo {wb.token}"})
    code = main(["-vv", "wb", "orders", "--new"])
    err = capsys.readouterr().err
    assert code == 1 and wb.token not in err and "echo ***" in err
    token_file = tmp_path / "creds"
    token_file.mkdir()
    (token_file / "wb-token").write_text("")
    monkeypatch.delenv("PRINTSTATION_WB_TOKEN")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(token_file))
    with pytest.raises(PrintstationError) as ei:
        resolve_credentials("wb")
    assert os.fspath(token_file) in str(ei.value)


def test_token_file_saved_with_a_bom_and_crlf_works(market_env, capsys, monkeypatch, tmp_path):
    """Notepad writes a UTF-8 BOM and CRLF: the token is the text between them, not a traceback."""
    wb = market_env["wb"]
    o = wb.add_order()
    tok = tmp_path / "wb-token"
    tok.write_bytes(b"\xef\xbb\xbf" + wb.token.encode() + b"\r\n")
    cfg = tmp_path / "ps.toml"
    cfg.write_text(f'[markets.wb]\nbase_url = "{wb.url}"\ntoken_file = "{tok}"\n')
    monkeypatch.delenv("PRINTSTATION_WB_TOKEN")
    out = tmp_path / "out"
    code = main(["wb", "stickers", str(o["id"]), "-o", str(out), "--config", str(cfg)])
    assert code == 0, capsys.readouterr().err
    assert (out / f"wb-order-{o['id']}.zpl").exists()


@pytest.mark.parametrize("bad", ["tok\u00e9n-value-1234567890", "tok\x7fen-value-1234567890",
                                 "first-line-token-123\nsecond-line-x"])
def test_token_a_header_cannot_carry_is_one_line_auth_error(market_env, capsys, monkeypatch, bad):
    """A token with a non-ASCII or control character (pasted from a rich-text page, two lines in
    the file) is one error line naming no part of it, exit 4, and no call is made."""
    wb = market_env["wb"]
    wb.reset_calls()
    monkeypatch.setenv("PRINTSTATION_WB_TOKEN", bad)
    code = main(["wb", "orders", "--new"])
    err = capsys.readouterr().err
    assert code == 4, err
    assert err.count("\n") == 1 and err.startswith("printstation: error: ") and "Traceback" not in err
    assert "token" in err and "value-1234567890" not in err and "second-line" not in err
    assert wb.calls_to("/api/") == []
