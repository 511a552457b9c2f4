"""tcp:// against real sockets on 127.0.0.1."""

from __future__ import annotations

import socket

import pytest

from printstation.errors import TransportError
from printstation.transport import from_uri
from printstation.transport.tcp import TcpTransport
from support.printer_sinks import DroppingSink, RecordingSink, StuckSink, refused_uri


def test_uri_parsing_defaults_port_9100():
    t = from_uri("tcp://printer.local")
    assert isinstance(t, TcpTransport)
    assert (t.host, t.port) == ("printer.local", 9100)
    t6 = from_uri("tcp://[::1]:9101")
    assert (t6.host, t6.port) == ("::1", 9101)


@pytest.mark.parametrize(
    "uri, words",
    [
        ("tcp://", "missing host"),
        ("tcp://host:99999", "bad port"),
        ("tcp://host:abc", "bad port"),
        ("tcp://host:9100/queue", "no path"),
        ("tcp://host:9100?x=1", "unknown query parameter"),
    ],
)
def test_bad_uris_are_permanent_errors(uri, words):
    with pytest.raises(TransportError) as ei:
        from_uri(uri)
    assert words in str(ei.value)
    assert ei.value.transient is False
    assert "\n" not in str(ei.value)


def test_writes_reach_the_sink_in_order():
    with RecordingSink() as sink, from_uri(sink.uri, timeout=2) as t:
        t.write(b"^XA^FDone^FS^XZ", job_id="1", ext="zpl")
        big = bytes(range(256)) * 2000  # 512 KB, several chunks
        t.write(big, job_id="2", ext="zpl")
        assert sink.wait_bytes(15 + len(big))
        assert sink.data == b"^XA^FDone^FS^XZ" + big
        assert len(sink.connections) == 1  # one connection for both jobs


def test_status_read_round_trip():
    with RecordingSink("paper_out") as sink, from_uri(sink.uri, timeout=2) as t:
        assert t.can_read
        t.write(b"\x1b!?")
        assert t.read(16, timeout=2) == b"\x04"
        assert t.read(16, timeout=0.05) == b""  # nothing more came
        assert sink.data == b""  # status queries are not "printed"
        assert sink.status_queries == [b"\x1b!?"]


def test_refused_is_transient_and_names_the_uri():
    uri = refused_uri()
    t = from_uri(uri, timeout=1)
    with pytest.raises(TransportError) as ei:
        t.write(b"x")
    assert ei.value.transient is True
    assert str(ei.value).startswith(uri + ": connect: ")
    assert "refused" in str(ei.value).lower()
    assert not t.is_open


def test_dropped_connection_is_transient_then_reconnects():
    with DroppingSink(drop_after=1000, drops=1) as sink:
        t = from_uri(sink.uri, timeout=2)
        payload = b"A" * 4_000_000
        with pytest.raises(TransportError) as ei:
            t.write(payload, job_id="1")
        assert ei.value.transient is True
        assert not t.is_open
        assert sink.dropped == 1
        # second attempt opens a fresh connection and goes through
        t.write(b"^XAsecond^XZ", job_id="1")
        t.close()
        assert sink.wait_for(lambda s: s.data.endswith(b"^XAsecond^XZ"))
        assert len(sink.connections) == 2


def test_read_reports_printer_closing_connection():
    srv = socket.create_server(("127.0.0.1", 0))
    with srv:
        t = from_uri(f"tcp://127.0.0.1:{srv.getsockname()[1]}", timeout=1)
        t.open()
        conn, _ = srv.accept()
        conn.close()
        with pytest.raises(TransportError) as ei:
            t.read(10, timeout=2)
        assert ei.value.transient and "closed by printer" in str(ei.value)
        assert not t.is_open


def test_write_timeout_when_printer_never_reads():
    with StuckSink() as sink:
        t = from_uri(sink.uri, timeout=0.3)
        with pytest.raises(TransportError) as ei:
            t.write(b"Z" * 50_000_000, job_id="big")
        assert ei.value.transient is True
        assert "timed out" in str(ei.value)
        assert str(ei.value).startswith(sink.uri + ": write: ")


def test_read_timeout_returns_empty():
    with RecordingSink(answer_status=False) as sink, from_uri(sink.uri) as t:
        t.write(b"~HS")
        assert t.read(100, timeout=0.2) == b""
        assert t.is_open


def test_userinfo_never_shown():
    t = from_uri("tcp://admin:s3cret@127.0.0.1:1")
    assert "s3cret" not in t.uri and "s3cret" not in repr(t)


def test_sink_keeps_data_that_looks_like_a_query_prefix():
    with RecordingSink() as sink:
        with from_uri(sink.uri) as t:
            t.write(b"GS\x1d\x10")  # ends with a DLE: maybe the start of DLE EOT n
            t.write(b"\x1b!")  # split query...
            t.write(b"?tail\x10")
            assert t.read(1, timeout=2) == b"\x00"
        assert sink.wait_for(lambda s: s.data == b"GS\x1d\x10tail\x10")
        assert sink.status_queries == [b"\x1b!?"]


def test_write_returns_only_once_the_printer_acknowledged():
    """Bytes stuck in our own kernel buffer are not "sent": the write waits and times out."""
    with StuckSink() as sink:
        t = from_uri(sink.uri, timeout=0.3)
        t.open()
        t._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        with pytest.raises(TransportError) as ei:
            t.write(b"Q" * 400_000)  # fits our send buffer, not the printer's window
        assert ei.value.transient is True and "timed out" in str(ei.value)


def test_close_from_another_thread_cuts_a_write_as_a_transient_error():
    """The daemon's stop closes a transport whose write does not finish: the writer gets a
    transient TransportError (the job may have printed in part), never a ValueError or EBADF."""
    import threading

    with StuckSink() as sink:
        t = from_uri(sink.uri, timeout=60)
        got: list[BaseException] = []

        def writer() -> None:
            try:
                t.write(b"Z" * 50_000_000, job_id="big")
            except BaseException as exc:  # noqa: BLE001 - what the worker would see
                got.append(exc)

        th = threading.Thread(target=writer)
        th.start()
        assert sink.wait_for(lambda s: len(s.connections) >= 1)
        t.close()
        th.join(10)
        assert not th.is_alive()
        assert len(got) == 1 and isinstance(got[0], TransportError), got
        assert got[0].transient and str(got[0]).startswith(sink.uri + ": write: ")
