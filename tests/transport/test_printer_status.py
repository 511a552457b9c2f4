"""Printer status: parsing recorded answers and querying real TCP sinks."""

from __future__ import annotations

import pytest

from printstation.lang.escpos import parse_reply as parse_escpos
from printstation.lang.tspl import parse_reply as parse_tspl
from printstation.lang.zpl import parse_reply as parse_zpl
from printstation.status import PrinterStatus, parse_status, query_status
from printstation.transport import from_uri, memory
from support.printer_sinks import (
    STATES,
    MuteSink,
    PaperOutSink,
    RecordingSink,
    escpos_status_bytes,
    refused_uri,
    tspl_status_byte,
    zpl_hs_answer,
)

# Answers as printers send them (Zebra ZD/GK series ~HS; fields per the ZPL II guide).
ZPL_READY = (b"\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n"
             b"\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n"
             b"\x021234,0\x03\r\n")
ZPL_PAPER_OUT_PAUSED = (b"\x02030,1,1,1245,000,0,0,0,000,0,0,0\x03\r\n"
                        b"\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n"
                        b"\x021234,0\x03\r\n")
ZPL_HEAD_OPEN_RIBBON = (b"\x02014,0,1,0812,000,0,0,0,000,0,0,0\x03\r\n"
                        b"\x02001,0,1,1,1,2,6,0,00000000,1,000\x03\r\n"
                        b"\x020000,0\x03\r\n")
ZPL_PRINTING = (b"\x02030,0,0,0320,002,0,0,0,000,0,0,0\x03\r\n"
                b"\x02001,0,0,0,0,2,6,0,00000005,1,000\x03\r\n"
                b"\x021234,0\x03\r\n")
ZPL_PAUSED = (b"\x02030,0,1,0320,000,0,0,0,000,0,0,0\x03\r\n"
              b"\x02001,0,0,0,0,2,6,0,00000000,1,000\x03\r\n"
              b"\x021234,0\x03\r\n")


@pytest.mark.parametrize(
    "raw, state, reason",
    [
        (ZPL_READY, "idle", ""),
        (ZPL_PAPER_OUT_PAUSED, "error", "paper out"),
        (ZPL_HEAD_OPEN_RIBBON, "error", "head open, ribbon out"),
        (ZPL_PRINTING, "printing", "printing"),
        (ZPL_PAUSED, "paused", "paused"),
        (ZPL_READY[:40], "error", "unreadable status answer"),
        (b"\x02garbage,1\x03\r\n\x02x\x03\r\n", "error", "unreadable status answer"),
    ],
)
def test_parse_zpl_recorded(raw, state, reason):
    st = parse_zpl(raw)
    assert st.state == state
    assert st.reason.startswith(reason)
    assert st.raw == raw


def test_parse_zpl_flags():
    st = parse_zpl(ZPL_PAPER_OUT_PAUSED)
    assert {"paper_out", "paused"} <= st.flags and not st.ok
    assert parse_zpl(ZPL_READY).ok


@pytest.mark.parametrize(
    "byte, state, reason",
    [
        (0x00, "idle", ""),
        (0x01, "error", "head open"),
        (0x04, "error", "paper out"),
        (0x05, "error", "head open, paper out"),
        (0x0C, "error", "paper out, ribbon out"),
        (0x10, "paused", "paused"),
        (0x14, "error", "paper out"),
        (0x20, "printing", "printing"),
        (0x40, "error", "cover open"),
        (0x80, "error", "temperature out of range"),
    ],
)
def test_parse_tspl(byte, state, reason):
    st = parse_tspl(bytes([byte]))
    assert (st.state, st.reason) == (state, reason)


def test_parse_tspl_empty_is_unreadable():
    assert parse_tspl(b"").state == "error"


@pytest.mark.parametrize(
    "raw, state, reason",
    [
        (b"\x12\x12\x12\x12", "idle", ""),
        (b"\x16\x12\x12\x12", "idle", ""),  # drawer pin bit is not trouble
        (b"\x12\x12\x12\x1e", "idle", "paper near end"),
        (b"\x1a\x32\x12\x7e", "error", "paper out"),
        (b"\x1a\x16\x12\x12", "error", "cover open"),
        (b"\x1a\x52\x1a\x12", "error", "autocutter error"),
        (b"\x1a\x1a\x12\x12", "paused", "paper being fed by the feed button"),
        (b"\x1a\x12\x12\x12", "error", "printer reports offline"),
        (b"\x12\x12\x52\x12", "error", "recoverable error (e.g. head too hot)"),
        (b"\x1a\x32", "error", "paper out"),  # printer answering only n=1,2
        (b"\x00\x00\x00\x00", "error", "unreadable status answer"),
        (b"\x02030,0", "error", "unreadable status answer"),
    ],
)
def test_parse_escpos(raw, state, reason):
    st = parse_escpos(raw)
    assert (st.state, st.reason.split(" '")[0]) == (state, reason)


@pytest.mark.parametrize("lang", ["zpl", "tspl", "escpos"])
@pytest.mark.parametrize("state", STATES)
def test_sink_answers_parse_back(lang, state):
    """The sinks' generated answers mean what they say (they are what daemon tests use)."""
    if lang == "zpl":
        raw = zpl_hs_answer(state)
    elif lang == "tspl":
        raw = tspl_status_byte(state)
    else:
        raw = b"".join(escpos_status_bytes(state, n) for n in (1, 2, 3, 4))
    st = parse_status(lang, raw)
    if state == "ready":
        assert st.state == "idle"
    elif state in ("printing", "paused"):
        assert st.state in (state, "idle")  # ESC/POS has no printing/paused bits
    else:
        assert st.state in ("error", "idle")
        if st.state == "idle":  # only conditions the language cannot express
            assert (lang, state) in {("zpl", "paper_jam"), ("zpl", "cover_open"), ("zpl", "offline"),
                                     ("tspl", "offline"), ("escpos", "ribbon_out"),
                                     ("escpos", "head_open")}


@pytest.mark.parametrize("lang, raw", [("zpl", ZPL_READY), ("tspl", b"\x00"), ("escpos", b"\x12" * 4)])
def test_query_over_tcp_ready(lang, raw):
    with RecordingSink() as sink, from_uri(sink.uri) as t:
        st = query_status(t, lang, timeout=2)
        assert isinstance(st, PrinterStatus)
        assert st.state == "idle" and st.ok and st.raw
        assert sink.data == b"" and len(sink.status_queries) in (1, 4)


@pytest.mark.parametrize("lang", ["zpl", "tspl", "escpos"])
def test_paper_out_then_recovers(lang):
    with PaperOutSink() as sink:
        t = from_uri(sink.uri)
        st = query_status(t, lang, timeout=2)
        assert st.state == "error" and "paper out" in st.reason and "paper_out" in st.flags
        assert query_status(t, lang, timeout=2).state == "error"  # still out
        sink.recover()
        st = query_status(t, lang, timeout=2)
        assert (st.state, st.reason) == ("idle", "")
        t.close()


def test_paper_out_recovers_by_itself_after_queries():
    with PaperOutSink(recover_after=2) as sink, from_uri(sink.uri) as t:
        assert query_status(t, "zpl").state == "error"
        assert query_status(t, "zpl").state == "error"  # answer to query 2 was computed before
        assert query_status(t, "zpl").state == "idle"


@pytest.mark.parametrize("lang", ["zpl", "tspl", "escpos"])
def test_no_answer_is_an_error_not_fine(lang):
    with MuteSink() as sink, from_uri(sink.uri) as t:
        st = query_status(t, lang, timeout=0.2)
        assert st.state == "error"
        assert st.reason.startswith("no answer to status query")
        assert not st.ok
        assert t.is_open  # the connection itself is fine


def test_unreachable_printer_is_offline():
    uri = refused_uri()
    st = query_status(from_uri(uri, timeout=1), "zpl")
    assert st.state == "offline"
    assert st.reason.startswith(uri) and "refused" in st.reason.lower()


def test_stale_bytes_are_dropped_before_query():
    with RecordingSink("ready") as sink, from_uri(sink.uri) as t:
        t.write(b"\x1b!?")  # an answer we never read: stale
        import select

        assert sink.wait_for(lambda s: len(s.status_queries) == 1)
        # the stale "ready" answer has reached our socket before the real query is sent
        assert select.select([t._sock], [], [], 10)[0]
        sink.set_state("paper_out")
        st = query_status(t, "tspl", timeout=2)
        assert st.state == "error" and st.raw == b"\x04"


def test_transports_that_cannot_read_are_idle_by_construction(tmp_path):
    st = query_status(from_uri(f"dir://{tmp_path}/out"), "zpl")
    assert (st.state, st.reason) == ("idle", "status not supported by transport")
    assert (tmp_path / "out").is_dir()  # it was opened


def test_epl2_has_no_status_query():
    memory.reset()
    s = memory.sink("epl")
    st = query_status(from_uri("memory://epl"), "epl2")
    assert (st.state, st.reason) == ("idle", "status not supported for epl2")
    assert s.writes == []
    s.online = False
    assert query_status(from_uri("memory://epl"), "epl2").state == "offline"


def test_memory_responder():
    memory.reset()
    s = memory.sink("z")
    s.responder = lambda q: zpl_hs_answer("head_open") if q == b"~HS" else None
    st = query_status(from_uri("memory://z"), "zpl", timeout=1)
    assert (st.state, st.reason) == ("error", "head open")
    assert st.to_dict()["flags"] == ["head_open", "paused"]
