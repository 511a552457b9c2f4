"""``printstation wb …`` / ``printstation ali …`` in-process against the fakes."""

from __future__ import annotations

import io
import json

import pytest

from printstation.face.cli import main
from printstation.face.cli.markets import Progress


def _run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_wb_stickers_all_delivered(market_env, capsys):
    wb, out = market_env["wb"], market_env["tmp"] / "out"
    ids = wb.add_orders(3)
    code, stdout, err = _run(capsys, "wb", "stickers", *map(str, ids), "-o", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == [f"wb-order-{i}.zpl" for i in ids]
    assert (out / f"wb-order-{ids[0]}.zpl").read_bytes() == wb.sticker_file(ids[0], "zplv")
    assert "\r" not in err  # no progress bar: stderr is not a terminal


@pytest.mark.parametrize("type,ext", [("zplh", "zpl"), ("svg", "svg"), ("png", "png")])
def test_wb_stickers_type_and_size(market_env, capsys, type, ext):
    wb, out = market_env["wb"], market_env["tmp"] / "out"
    (oid,) = wb.add_orders(1)
    code, _, err = _run(capsys, "wb", "stickers", str(oid), "--type", type, "--size", "40x30", "-o", str(out))
    assert code == 0, err
    assert (out / f"wb-order-{oid}.{ext}").read_bytes() == wb.sticker_file(oid, type, (40, 30))


def test_wb_stickers_partial_failure_exit_1(market_env, capsys):
    wb, out = market_env["wb"], market_env["tmp"] / "out"
    ids = wb.add_orders(3)
    wb.corrupt(ids[1])
    code, _, err = _run(capsys, "wb", "stickers", *map(str, ids), "-o", str(out))
    assert code == 1
    assert f"wb order {ids[1]}: corrupt base64" in err
    assert sorted(p.name for p in out.iterdir()) == [f"wb-order-{ids[0]}.zpl", f"wb-order-{ids[2]}.zpl"]


def test_usage_errors_exit_2(market_env, capsys):
    out = str(market_env["tmp"] / "o")
    assert _run(capsys, "wb", "stickers", "1", "--type", "pdf", "-o", out)[0] == 2
    assert _run(capsys, "wb", "stickers", "1", "--size", "100x150", "-o", out)[0] == 2
    assert _run(capsys, "wb", "stickers", "1")[0] == 2
    code, _, err = _run(capsys, "wb", "stickers", "abc", "-o", out)
    assert code == 2 and "bad WB order id" in err
    assert _run(capsys, "wb")[0] == 2
    assert _run(capsys, "ali")[0] == 2
    assert _run(capsys, "wb", "orders", "--new", "--supply", "X")[0] == 2


def test_auth_refused_exit_4(market_env, capsys, monkeypatch):
    monkeypatch.setenv("PRINTSTATION_WB_TOKEN", "wrong-token-xyz")
    code, _, err = _run(capsys, "wb", "stickers", "1", "-o", str(market_env["tmp"] / "o"))
    assert code == 4 and err.startswith("printstation: error: wb API 401")
    monkeypatch.delenv("PRINTSTATION_ALI_TOKEN")
    code, _, err = _run(capsys, "ali", "find", "X")
    assert code == 4 and "no ALI token" in err


def test_wb_supply_qr_and_boxes(market_env, capsys):
    wb, out = market_env["wb"], market_env["tmp"] / "out"
    s = wb.add_supply(boxes=2)
    code, _, err = _run(capsys, "wb", "supply-qr", s["id"], "--type", "png", "-o", str(out))
    assert code == 1 and "SupplyNotClosed" in err and "delivered" in err
    wb.deliver(s["id"])
    assert _run(capsys, "wb", "supply-qr", s["id"], "--type", "png", "-o", str(out))[0] == 0
    assert (out / f"wb-supply-{s['id']}.png").read_bytes() == wb.supply_file(s["id"], "png")
    assert _run(capsys, "wb", "boxes", s["id"], "-o", str(out))[0] == 0
    for b in s["boxes"]:
        assert (out / f"wb-box-{b}.zpl").read_bytes() == wb.box_file(b, "zplv")


def test_wb_orders_listing(market_env, capsys):
    wb = market_env["wb"]
    ids = wb.add_orders(2)
    new = wb.add_order(status="new", skus=["4601234567893"])
    s = wb.add_supply(orders=ids)
    code, stdout, _ = _run(capsys, "wb", "orders", "--json")
    assert code == 0 and [o["id"] for o in json.loads(stdout)] == ids + [new["id"]]
    code, stdout, _ = _run(capsys, "wb", "orders", "--new")
    assert stdout.split("\t")[0] == str(new["id"]) and "4601234567893" in stdout
    code, stdout, _ = _run(capsys, "wb", "orders", "--supply", s["id"], "--json")
    assert json.loads(stdout) == [{"id": i, "supplyId": s["id"], "supplierStatus": "confirm", "wbStatus": "waiting"}
                                  for i in ids]


def test_ali_labels_and_find(market_env, capsys):
    ali, out = market_env["ali"], market_env["tmp"] / "out"
    o1, o2 = ali.add_order(), ali.add_order(other_owner=True)
    code, _, err = _run(capsys, "ali", "labels", str(o1["logistic_order_id"]), str(o2["logistic_order_id"]),
                        "-o", str(out))
    assert code == 1 and "DifferentOwner" in err
    assert [p.name for p in out.iterdir()] == [f"ali-{o1['logistic_order_id']}.pdf"]
    code, stdout, err = _run(capsys, "ali", "find", o1["platform_tracking_code"], "RU0CN", "--json")
    assert code == 1 and "ali tracking RU0CN" in err
    assert json.loads(stdout) == [{"tracking_number": o1["platform_tracking_code"],
                                   "logistic_order_id": o1["logistic_order_id"],
                                   "trade_order_id": o1["trade_order_id"], "status": o1["status"]}]


def test_config_file_with_token_file_and_cache(market_env, capsys, monkeypatch):
    wb, tmp = market_env["wb"], market_env["tmp"]
    monkeypatch.delenv("PRINTSTATION_WB_TOKEN")
    monkeypatch.delenv("PRINTSTATION_WB_URL")
    (tmp / "wb.tok").write_text(wb.token + "\n")
    cfg = tmp / "ps.toml"
    cfg.write_text(f'[station]\ndata_dir = "var"\n[markets.wb]\nbase_url = "{wb.url}"\ntoken_file = "wb.tok"\n')
    (oid,) = wb.add_orders(1)
    for _ in range(2):
        assert _run(capsys, "wb", "stickers", str(oid), "-o", str(tmp / "out"), "--config", str(cfg))[0] == 0
    assert len(wb.calls) == 1  # second run served from the cache under data_dir
    assert (tmp / "var" / "labels" / "wb" / "order" / f"{oid}-zplv-58x40.zpl").exists()
    cfg.write_text('[markets.wb]\ntoken = "x"\n')
    code, _, err = _run(capsys, "wb", "orders", "--config", str(cfg))
    assert code == 2 and "markets.wb.token" in err


def test_progress_bar_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        p = Progress(250, "wb stickers", stream)
        p(100)
        p(150)
        p.close()
    assert "250/250" in tty.getvalue() and "\r" in tty.getvalue()
    assert pipe.getvalue() == ""
