"""Scan rules: which action a scanned code triggers.

A rule is ``match = "<regex>"`` plus ``action = "<name>"``; the first rule whose regex matches
the whole code wins. Rules from the config come first, the built-in defaults after them:

====================  ==========================================  ===============
code                  action                                      reference
====================  ==========================================  ===============
``PS:PAUSE`` …        ``pause`` ``resume`` ``reprint`` ``cancel``  —
``WB-GI-123``         ``wb-supply-qr``                            supply id
``WB-TRBX-123``       ``wb-box``                                  box id
digits (9–11)         ``wb-order``                                order id
EAN-13/8, UPC, GTIN   ``wb-product``  (check digit must be valid;  SKU barcode
                      GTIN-14 ``0…``, or any a synced order has)
GS1 ``01``+GTIN-14…   ``wb-product``  (a marking DataMatrix)       its GTIN
Ali tracking number   ``ali-tracking`` (S10, LP…/AE…, 14 digits)  tracking number
Ozon return barcode   ``ozon-return`` (``[scan] ozon_return``)    return barcode
Ozon posting number   ``ozon-label``  (``12345678-0001-1``)       posting number
====================  ==========================================  ===============

The reference an action acts on is the regex's named group ``id`` if it has one, else its
first group, else the whole code — so ``match = "^ORD(\\d+)$", action = "wb-order"`` works.
Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from ..errors import ConfigError

#: Every action a rule may name. ``ignore`` records the scan and does nothing.
ACTIONS: tuple[str, ...] = (
    "wb-supply-qr", "wb-box", "wb-order", "wb-product", "ali-tracking", "ali-label",
    "ozon-return", "ozon-label", "lamoda-pack", "lamoda-pallet",
    "pause", "resume", "reprint", "cancel", "ignore",
)
COMMANDS = ("pause", "resume", "reprint", "cancel")

DEFAULT_DEBOUNCE_MS = 1500
DEFAULT_WB_ORDER_DIGITS = "9-11"
#: UPU S10 (``RU123456789CN``), the long LAliExpress/Cainiao numbers (``LP…``, ``AE…``,
#: ``CN…``, ``YT…``…: two to four capital letters then 8–24 digits and an optional tail), and the
#: 14-digit numeric codes (Russian Post, seed 003's ``21619418835187``).
DEFAULT_ALI_TRACKING = r"^[A-Z]{2}\d{9}[A-Z]{2}$|^[A-Z]{2,4}\d{8,24}[A-Z0-9]{0,4}$|^\d{14}$"
GTIN_LENGTHS = (8, 12, 13, 14)
#: The barcode Ozon puts on a return parcel (``return_barcode``: ``ii`` and digits).
DEFAULT_OZON_RETURN = r"^[iI]{2}\d{6,20}$"
#: An Ozon FBS posting number.
OZON_POSTING = r"^\d+-\d+-\d+$"


def gtin_valid(code: str) -> bool:
    """True for an EAN-8, UPC-A (12), EAN-13 or GTIN-14 with a correct check digit."""
    if not (code.isascii() and code.isdigit()) or len(code) not in GTIN_LENGTHS:
        return False
    digits = [int(c) for c in code]
    body, check = digits[:-1], digits[-1]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def gtin_forms(code: str) -> list[str]:
    """The forms one GTIN is written in, ``code`` first: UPC-A ``036000291452`` is EAN-13
    ``0036000291452`` and GTIN-14 ``00036000291452`` (a marketplace may hold any of them, a
    scanner may send any of them)."""
    if not (code.isascii() and code.isdigit()) or len(code) > 14:
        return [code]
    g14 = code.zfill(14)
    forms = [code] + [g14[14 - n:] for n in (13, 12, 8, 14) if set(g14[:14 - n]) <= {"0"}]
    return list(dict.fromkeys(forms))


def _gs1_gtin_valid(code: str) -> bool:
    """The GTIN after AI 01 (``01…`` or the printed form ``(01)…``) has a valid check digit."""
    return gtin_valid(code[4:18] if code.startswith("(") else code[2:16])


@dataclass(frozen=True)
class Match:
    """A code matched by a rule: the action and the reference it acts on."""

    action: str
    ref: str
    rule: str  # the rule's pattern, for the scan log
    #: The rule's ``printer``: its labels go there whatever scanner read the code.
    printer: str | None = None
    #: A built-in rule matched (not one of the user's ``[[rules]]``).
    builtin: bool = False


@dataclass(frozen=True)
class Rule:
    pattern: re.Pattern[str]
    action: str
    check: Callable[[str], bool] | None = None
    builtin: bool = False
    printer: str | None = None

    def match(self, code: str) -> Match | None:
        m = self.pattern.fullmatch(code)  # a rule always covers the whole code
        if m is None:
            return None
        if self.check is not None and not self.check(code):
            return None
        if "id" in self.pattern.groupindex and m.group("id") is not None:
            ref = m.group("id")
        elif self.pattern.groups >= 1 and m.group(1) is not None:
            ref = m.group(1)
        else:
            ref = code
        return Match(self.action, ref, self.pattern.pattern, self.printer, self.builtin)


def _digits_range(text: str, key: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(text))
    if not m:
        raise ConfigError(f"{key}: expected a digit count like 10 or a range like 9-11, got {text!r}")
    lo = int(m.group(1))
    hi = int(m.group(2) or lo)
    if not (1 <= lo <= hi <= 20):
        raise ConfigError(f"{key}: digit count {text!r} out of range (1..20)")
    return lo, hi


def _compile(pattern: str, key: str) -> re.Pattern[str]:
    if not isinstance(pattern, str) or not pattern:
        raise ConfigError(f"{key}: expected a regular expression string")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{key}: bad regular expression {pattern!r}: {exc}") from None


@dataclass(frozen=True)
class ScanSettings:
    """``[scan]`` settings plus the ``[[rules]]`` list (user rules, then built-in defaults)."""

    debounce_ms: int = DEFAULT_DEBOUNCE_MS
    wb_order_digits: tuple[int, int] = (9, 11)
    ali_tracking: str = DEFAULT_ALI_TRACKING
    #: ``(match, action)`` or ``(match, action, printer)`` per user rule.
    user_rules: tuple[tuple[str, ...], ...] = ()
    rules: tuple[Rule, ...] = field(default=(), compare=False)
    ozon_return: str = DEFAULT_OZON_RETURN

    def __post_init__(self) -> None:
        if not self.rules:
            object.__setattr__(self, "rules", tuple(build_rules(self)))

    def classify(self, code: str) -> Match | None:
        """The first rule matching ``code``, or ``None`` (unmatched)."""
        for rule in self.rules:
            m = rule.match(code)
            if m is not None:
                return m
        return None


def default_rules(settings: ScanSettings) -> list[Rule]:
    lo, hi = settings.wb_order_digits
    return [
        Rule(re.compile(r"^PS:PAUSE$", re.I), "pause", builtin=True),
        Rule(re.compile(r"^PS:RESUME$", re.I), "resume", builtin=True),
        Rule(re.compile(r"^PS:REPRINT$", re.I), "reprint", builtin=True),
        Rule(re.compile(r"^PS:CANCEL$", re.I), "cancel", builtin=True),
        Rule(re.compile(r"^WB-GI-\d+$"), "wb-supply-qr", builtin=True),
        Rule(re.compile(r"^WB-TRBX-\d+$"), "wb-box", builtin=True),
        Rule(re.compile(rf"^\d{{{lo},{hi}}}$"), "wb-order", builtin=True),
        # a GTIN-14 only with indicator 0 (a consumer unit's EAN/UPC): other 14-digit codes are
        # tracking numbers (their check digit is GTIN-valid too) unless the synced orders know
        # them as a SKU (ScanService)
        Rule(re.compile(r"^(?:\d{8}|\d{12,13}|0\d{13})$"), "wb-product", check=gtin_valid, builtin=True),
        # GS1 element string (a marking DataMatrix, GS1-128): AI 01 + GTIN-14, then other AIs
        Rule(re.compile(r"^(?:01|\(01\))(\d{14})(?:\(?\d\d.*)?$"), "wb-product", check=_gs1_gtin_valid,
             builtin=True),
        Rule(_compile(settings.ozon_return, "scan.ozon_return"), "ozon-return", builtin=True),
        Rule(re.compile(OZON_POSTING), "ozon-label", builtin=True),
        Rule(_compile(settings.ali_tracking, "scan.ali_tracking"), "ali-tracking", builtin=True),
    ]


def build_rules(settings: ScanSettings) -> list[Rule]:
    rules: list[Rule] = []
    for i, (pattern, action, *printer) in enumerate(settings.user_rules):
        rules.append(Rule(_compile(pattern, f"rules[{i}].match"), action, printer=printer[0] if printer else None))
    return rules + default_rules(settings)


#: An AIM symbology identifier (ISO/IEC 15424) a scanner may send before the data: ``]``, the
#: symbology (``C`` Code 128, ``E`` EAN/UPC, ``Q`` QR, ``d`` DataMatrix …) and a modifier.
AIM_ID = re.compile(r"\][A-Za-z][0-9A-Za-z]")


def normalize(code: str) -> str:
    """A scanned code as the rules see it: control characters (a GS1 code's GS separators too),
    outer whitespace and a leading AIM symbology identifier (``]C0``, ``]E0``, ``]d2`` …) removed."""
    text = "".join(ch for ch in code if ch >= " " and ch != "\x7f").strip()
    if AIM_ID.match(text):
        text = text[3:].strip()
    return text
