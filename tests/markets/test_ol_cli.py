"""``printstation ozon …`` / ``printstation lamoda …`` in-process against the fakes; their config."""

from __future__ import annotations

import io
import json

import pytest
from pypdf import PdfReader

from printstation.face.cli import main
from printstation.errors import AuthError, ConfigError
from printstation.markets.settings import parse_markets, resolve_credentials
from support.fakes import FakeLamoda, FakeOzon

ENV = ("PRINTSTATION_OZON_URL", "PRINTSTATION_OZON_CLIENT_ID", "PRINTSTATION_OZON_API_KEY",
       "PRINTSTATION_LAMODA_URL", "PRINTSTATION_LAMODA_CLIENT_ID", "PRINTSTATION_LAMODA_CLIENT_SECRET",
       "CREDENTIALS_DIRECTORY", "PRINTSTATION_DATA_DIR")


@pytest.fixture
def ol_env(monkeypatch, tmp_path):
    for k in ENV:
        monkeypatch.delenv(k, raising=False)
    with FakeOzon(label_shape="json") as oz, FakeLamoda() as lm:
        monkeypatch.setenv("PRINTSTATION_OZON_URL", oz.url)
        monkeypatch.setenv("PRINTSTATION_OZON_CLIENT_ID", oz.client_id)
        monkeypatch.setenv("PRINTSTATION_OZON_API_KEY", oz.api_key)
        monkeypatch.setenv("PRINTSTATION_LAMODA_URL", lm.url)
        monkeypatch.setenv("PRINTSTATION_LAMODA_CLIENT_ID", lm.client_id)
        monkeypatch.setenv("PRINTSTATION_LAMODA_CLIENT_SECRET", lm.client_secret)
        yield {"ozon": oz, "lamoda": lm, "tmp": tmp_path}


def _run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ozon_labels_one_file_per_posting(ol_env, capsys):
    oz, out = ol_env["ozon"], ol_env["tmp"] / "out"
    ps = [oz.add_posting()["posting_number"] for _ in range(22)]
    code, _, err = _run(capsys, "ozon", "labels", *ps, "-o", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(f"ozon-{p}.pdf" for p in ps)
    assert all(len(PdfReader(io.BytesIO((out / f"ozon-{p}.pdf").read_bytes())).pages) == 1 for p in ps)
    assert len(oz.calls_to("/v2/posting/fbs/package-label")) == 2


def test_ozon_labels_partial_exit_1_and_usage_2(ol_env, capsys):
    oz, out = ol_env["ozon"], ol_env["tmp"] / "out"
    good = oz.add_posting()["posting_number"]
    bad = oz.add_posting(status="cancelled")["posting_number"]
    code, _, err = _run(capsys, "ozon", "labels", good, bad, "-o", str(out))
    assert code == 1 and f"ozon posting {bad}:" in err and "POSTING_NOT_AWAITING_DELIVER" in err
    assert [p.name for p in out.iterdir()] == [f"ozon-{good}.pdf"]
    code, _, err = _run(capsys, "ozon", "labels", "12/34", "-o", str(out))
    assert code == 2 and "bad Ozon posting number" in err
    assert _run(capsys, "ozon")[0] == 2 and _run(capsys, "lamoda")[0] == 2
    assert _run(capsys, "ozon", "labels", good)[0] == 2


def test_ozon_returns_all_pages_json_and_tsv(ol_env, capsys):
    oz = ol_env["ozon"]
    made = [oz.add_return() for _ in range(730)]
    code, out, err = _run(capsys, "ozon", "returns", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [r["id"] for r in made]
    assert rows[5]["product_name"] == made[5]["product_name"]  # Cyrillic intact
    code, out, _ = _run(capsys, "ozon", "returns")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 730 and lines[0].split("\t")[1] == made[0]["return_barcode"]


def test_ozon_auth_exit_4(ol_env, capsys, monkeypatch):
    monkeypatch.setenv("PRINTSTATION_OZON_API_KEY", "wrong-api-key-" + "w" * 16)
    code, _, err = _run(capsys, "ozon", "returns")
    assert code == 4 and err.startswith("printstation: error: ozon API 403") and "w" * 16 not in err
    monkeypatch.delenv("PRINTSTATION_OZON_CLIENT_ID")
    code, _, err = _run(capsys, "ozon", "returns")
    assert code == 4 and "no OZON client id" in err
    monkeypatch.setenv("PRINTSTATION_OZON_CLIENT_ID", "1")
    monkeypatch.delenv("PRINTSTATION_OZON_API_KEY")
    code, _, err = _run(capsys, "ozon", "returns")
    assert code == 4 and "no OZON API key" in err


def test_lamoda_packs_and_pallets(ol_env, capsys):
    lm, out = ol_env["lamoda"], ol_env["tmp"] / "out"
    lm.add_order("LM1", packs=2)
    lm.add_order("LM2")
    lm.add_shipment("SH9", pallets=2)
    code, _, err = _run(capsys, "lamoda", "packs", "LM1", "LM2", "LMX", "-o", str(out))
    assert code == 1 and "lamoda order LMX:" in err
    assert sorted(p.name for p in out.iterdir()) == ["lamoda-pack-LM1.pdf", "lamoda-pack-LM2.pdf"]
    code, _, err = _run(capsys, "lamoda", "pallets", "SH9", "-o", str(out))
    assert code == 0, err
    assert len(PdfReader(io.BytesIO((out / "lamoda-pallet-SH9.pdf").read_bytes())).pages) == 2
    assert len(lm.calls_to("/auth/token")) == 2  # one token per CLI run


def test_lamoda_auth_exit_4(ol_env, capsys, monkeypatch):
    monkeypatch.setenv("PRINTSTATION_LAMODA_CLIENT_SECRET", "not-the-secret-" + "s" * 16)
    code, _, err = _run(capsys, "lamoda", "packs", "LM1", "-o", str(ol_env["tmp"] / "o"))
    assert code == 4 and "s" * 16 not in err and "lamoda API 401" in err


def test_settings_keys_files_and_refusals(tmp_path):
    key = tmp_path / "ozon-api-key"
    key.write_text("file-api-key-123\n")
    s = parse_markets({"ozon": {"client_id": 123456, "api_key_file": "ozon-api-key", "rate_per_min": 30},
                       "lamoda": {"client_id": "p1", "print_on_status": ["Confirmed", "ready_to_ship"],
                                  "printer": "zebra"}}, base_dir=tmp_path)
    c = resolve_credentials("ozon", s, env={})
    assert c.client_id == "123456" and c.token.reveal() == "file-api-key-123" and "api_key_file" in c.source
    assert s.ozon.rate_per_min == 30 and s.lamoda.print_on_status == ("Confirmed", "ready_to_ship")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "lamoda-client-secret").write_text("cred-secret-xyz")
    c = resolve_credentials("lamoda", s, env={"CREDENTIALS_DIRECTORY": str(creds)})
    assert c.token.reveal() == "cred-secret-xyz" and c.client_id == "p1"
    for bad, where in (({"ozon": {"api_key": "x"}}, "markets.ozon.api_key"),
                       ({"lamoda": {"client_secret": "x"}}, "markets.lamoda.client_secret"),
                       ({"ozon": {"token_file": "x"}}, "markets.ozon.token_file"),
                       ({"lamoda": {"print_on_status": [1]}}, "markets.lamoda.print_on_status"),
                       ({"ozon": {"printer": "x"}}, "markets.ozon.printer")):
        with pytest.raises(ConfigError, match=where.replace(".", r"\.")):
            parse_markets(bad)
    with pytest.raises(AuthError, match="no LAMODA client secret"):
        resolve_credentials("lamoda", s, env={})


def test_ozon_returns_tsv_keeps_one_row_per_return(ol_env, capsys):
    """A product name with a tab or line break in it does not split its row."""
    oz = ol_env["ozon"]
    before = len(oz.returns)
    oz.add_return(product_name="Куртка\tзимняя\nсиняя", return_reason_name="Брак\r\n")
    code, out, _ = _run(capsys, "ozon", "returns")
    lines = out.splitlines()
    assert code == 0 and len(lines) == before + 1
    assert all(len(line.split("\t")) == 9 for line in lines)
    assert "Куртка зимняя синяя" in lines[-1].split("\t")
