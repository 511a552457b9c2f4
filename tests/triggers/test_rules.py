"""Scan rules: first match wins, defaults, config validation."""

import pytest

from printstation.errors import ConfigError
from printstation.triggers.rules import ScanSettings, gtin_valid, normalize
from printstation.triggers.settings import parse_rules, parse_scan, user_rules


@pytest.mark.parametrize("code,action,ref", [
    ("PS:PAUSE", "pause", "PS:PAUSE"),
    ("ps:resume", "resume", "ps:resume"),
    ("PS:REPRINT", "reprint", "PS:REPRINT"),
    ("PS:CANCEL", "cancel", "PS:CANCEL"),
    ("WB-GI-1234567", "wb-supply-qr", "WB-GI-1234567"),
    ("WB-TRBX-7654321", "wb-box", "WB-TRBX-7654321"),
    ("1234567890", "wb-order", "1234567890"),
    ("4006381333931", "wb-product", "4006381333931"),  # EAN-13
    ("96385074", "wb-product", "96385074"),  # EAN-8
    ("036000291452", "wb-product", "036000291452"),  # UPC-A
    ("RU123456789CN", "ali-tracking", "RU123456789CN"),
    ("LP00123456789012", "ali-tracking", "LP00123456789012"),
])
def test_defaults(code, action, ref):
    m = ScanSettings().classify(code)
    assert m is not None and (m.action, m.ref) == (action, ref)


@pytest.mark.parametrize("code", ["4006381333932", "hello", "WB-GI-", "12345", "WB-GI-12x"])
def test_unmatched(code):
    assert ScanSettings().classify(code) is None


def test_gtin():
    assert gtin_valid("4006381333931") and not gtin_valid("4006381333930")
    assert gtin_valid("00012345600012") and not gtin_valid("123")


def test_user_rules_first_and_group_is_ref():
    rules = user_rules(parse_rules([{"match": r"^ORD(\d+)$", "action": "wb-order"},
                                    {"match": r"^WB-GI-.*$", "action": "ignore"},
                                    {"match": r"^X(?P<id>\d+)Y(\d+)$", "action": "ali-label"}]))
    s = parse_scan({"wb_order_digits": "8"}, rules)
    assert s.classify("ORD42").ref == "42"
    assert s.classify("WB-GI-1").action == "ignore"  # user rule wins over the built-in
    assert s.classify("X5Y6").ref == "5"
    assert s.classify("12345678").action == "wb-order"  # 8 digits now an order id
    assert s.classify("1234567890") is None


@pytest.mark.parametrize("rules,msg", [
    ([{"match": "(", "action": "wb-order"}], "rules[0].match"),
    ([{"match": "x", "action": "explode"}], "rules[0].action"),
    ([{"match": "x"}], "rules[0].action"),
    ([{"match": "x", "action": "ignore", "colour": 1}], "rules[0].colour"),
])
def test_bad_rules(rules, msg):
    with pytest.raises(ConfigError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(rules)


@pytest.mark.parametrize("scan,msg", [
    ({"debounce_ms": -1}, "scan.debounce_ms"),
    ({"wb_order_digits": "x"}, "scan.wb_order_digits"),
    ({"ali_tracking": "("}, "scan.ali_tracking"),
    ({"nope": 1}, "scan.nope"),
])
def test_bad_scan(scan, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_scan(scan)


def test_normalize():
    assert normalize(" \x02WB-GI-1\r\n") == "WB-GI-1"
