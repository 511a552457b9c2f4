"""``GET /events``: Server-Sent Events for the web console, without a thread per client.

The request is checked like any other (Host, Origin, token), then its connection is detached
from the HTTP server (:meth:`printstation.httpd.Exchange.detach`): one :class:`EventHub` thread
per daemon owns every stream in its own selector. Streams still count against
``[api] max_connections`` (they are open sockets) and at most :data:`MAX_STREAMS` are open at once
(more answer ``503``; the page then polls). The keep-alive idle timeout does not apply to a stream;
a ``: ping`` every :data:`PING_EVERY` seconds finds dead peers, and a reader that falls behind by
more than :data:`MAX_BACKLOG` bytes is dropped.

What is sent: ``retry: 1000`` and ``event: hello`` on connect (the page reloads everything —
also after a daemon restart), then ``event: change`` with ``{"jobs": bool, "printers": bool,
"scans": bool, "status": bool}`` when something the page shows changed (at most every
:data:`TICK` seconds): job changes come from the queue's change hook, printer states, scans and
call counters are compared every tick while a stream is open.
"""

from __future__ import annotations

import json
import logging
import selectors
import socket
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

MAX_STREAMS = 16
TICK = 0.25
PING_EVERY = 15.0
MAX_BACKLOG = 256 * 1024

HEAD = (b"HTTP/1.1 200 OK\r\nServer: printstation\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
        b"Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n")


class _Stream:
    __slots__ = ("sock", "server", "out")

    def __init__(self, sock: socket.socket, server: Any) -> None:
        self.sock, self.server, self.out = sock, server, bytearray()


class EventHub:
    """The streams of one daemon and the thread that feeds them."""

    def __init__(self, daemon: Any) -> None:
        self.daemon = daemon
        self._lock = threading.Lock()
        self._streams: list[_Stream] = []
        #: Streams let past the cap whose sockets are still being handed over (:meth:`claim`).
        self._claimed = 0
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._jobs_changed = threading.Event()
        self._last: dict[str, Any] = {}
        self._thread: threading.Thread | None = None
        self._closed = False
        store = getattr(daemon, "store", None)
        if store is not None:
            store.on_change(lambda job: self._jobs_changed.set())

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._streams)

    def claim(self, cap: int) -> bool:
        """Hold one of ``cap`` stream places for a request about to be handed over (False when
        they are all taken, counting the streams being handed over): checked and taken under one
        lock, so requests arriving together cannot all pass the cap."""
        with self._lock:
            if len(self._streams) + self._claimed >= cap:
                return False
            self._claimed += 1
            return True

    def unclaim(self) -> None:
        with self._lock:
            self._claimed -= 1

    def add(self, sock: socket.socket, server: Any) -> None:
        """Own a detached stream socket (its head is already sent), in the place it claimed."""
        s = _Stream(sock, server)
        s.out += b"retry: 1000\nevent: hello\ndata: {}\n\n"
        with self._lock:
            self._claimed = max(0, self._claimed - 1)
            if self._closed:
                self._close(s)
                return
            self._streams.append(s)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="console-events", daemon=True)
                self._thread.start()
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:
            pass

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        registered: dict[int, _Stream] = {}
        next_tick = next_ping = time.monotonic()
        next_ping += PING_EVERY
        try:
            while True:
                stopping = bool(getattr(self.daemon, "stopping", False))
                with self._lock:
                    streams = list(self._streams)
                if stopping:
                    break
                self._watch(streams, registered)
                now = time.monotonic()
                self._select(max(0.0, min(next_tick, next_ping) - now) if streams else 1.0, registered)
                now = time.monotonic()
                if not streams:
                    continue
                if now >= next_tick:
                    next_tick = now + TICK
                    change = self._changes()
                    if change:
                        self._send(b"event: change\ndata: " + json.dumps(change).encode() + b"\n\n", registered)
                if now >= next_ping:
                    next_ping = now + PING_EVERY
                    self._send(b": ping\n\n", registered)
                for s in streams:
                    if s.out:
                        self._flush(s, registered)
        except Exception:  # noqa: BLE001 - the page falls back to reconnecting
            log.exception("console events")
        finally:
            self._shut()

    def _watch(self, streams: list[_Stream], registered: dict[int, _Stream]) -> None:
        """Register new streams (EOF, and room to write a backlog); update the others' interest."""
        for s in streams:
            fd = s.sock.fileno()
            want = selectors.EVENT_READ | (selectors.EVENT_WRITE if s.out else 0)
            try:
                if fd not in registered:
                    s.sock.setblocking(False)
                    self._sel.register(s.sock, want, s)
                    registered[fd] = s
                else:
                    self._sel.modify(s.sock, want, s)
            except (OSError, ValueError, KeyError):
                self._drop(s, registered)

    def _select(self, wait: float, registered: dict[int, _Stream]) -> None:
        """Wait up to ``wait`` s; drop streams whose peer went away, write where there is room."""
        for key, mask in self._sel.select(wait):
            if key.data is None:  # the wake-up socket
                try:
                    while self._wake_r.recv(4096):
                        pass
                except OSError:
                    pass
                continue
            s = key.data
            if mask & selectors.EVENT_READ and not self._readable(s):
                self._drop(s, registered)
                continue
            if mask & selectors.EVENT_WRITE:
                self._flush(s, registered)

    def _shut(self) -> None:
        with self._lock:
            self._closed = True
            streams, self._streams = list(self._streams), []
        for s in streams:
            self._close(s)
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def _readable(self, s: _Stream) -> bool:
        """False when the peer closed (or sent a request on a stream: not allowed)."""
        try:
            data = s.sock.recv(4096)
        except (BlockingIOError, InterruptedError):
            return True
        except OSError:
            return False
        return False if not data else len(data) < 4096

    def _send(self, data: bytes, registered: dict[int, _Stream]) -> None:
        with self._lock:
            streams = list(self._streams)
        for s in streams:
            s.out += data
            if len(s.out) > MAX_BACKLOG:
                self._drop(s, registered)

    def _flush(self, s: _Stream, registered: dict[int, _Stream]) -> None:
        try:
            n = s.sock.send(s.out)
            del s.out[:n]
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(s, registered)

    def _drop(self, s: _Stream, registered: dict[int, _Stream]) -> None:
        with self._lock:
            if s not in self._streams:
                return
            self._streams.remove(s)
        try:
            fd = s.sock.fileno()
            if registered.pop(fd, None) is not None:
                self._sel.unregister(s.sock)
        except (OSError, ValueError, KeyError):
            pass
        self._close(s)

    @staticmethod
    def _close(s: _Stream) -> None:
        try:
            s.sock.close()
        except OSError:
            pass
        try:
            s.server.release()
        except Exception:  # noqa: BLE001
            pass

    def _changes(self) -> dict[str, bool]:
        """What changed since the last tick (printers, scans, status are compared; jobs hooked)."""
        from .console import market_health

        d = self.daemon
        now: dict[str, Any] = {}
        try:
            now["printers"] = json.dumps(d.printers(), sort_keys=True, default=str)
        except Exception:  # noqa: BLE001 - stopping: the store is closed
            return {}
        t = getattr(d, "triggers", None)
        try:
            recent = t.scans.recent(1) if t is not None else []
        except Exception:  # noqa: BLE001
            recent = []
        now["scans"] = recent[0]["id"] if recent else None
        now["status"] = json.dumps(market_health(), sort_keys=True)
        jobs = self._jobs_changed.is_set()
        self._jobs_changed.clear()
        changed = {k: self._last.get(k, v) != v for k, v in now.items()}
        self._last = now
        changed["jobs"] = jobs
        changed["status"] = changed["status"] or jobs
        return changed if any(changed.values()) else {}


def stream(daemon: Any, ex: Any) -> None:
    """Serve ``GET /events`` on exchange ``ex``: detach and hand it to the daemon's hub."""
    from .http import HttpError

    hub = getattr(daemon, "_console_events", None)
    if hub is None:
        with _HUB_LOCK:
            hub = getattr(daemon, "_console_events", None)
            if hub is None:
                hub = daemon._console_events = EventHub(daemon)
    cap = min(MAX_STREAMS, max(1, ex.server.max_connections // 2))
    if not hub.claim(cap):
        raise HttpError(503, f"too many event streams open (at most {cap}); poll instead")
    try:
        sock = ex.detach(HEAD)
    except BaseException:
        hub.unclaim()
        raise
    hub.add(sock, ex.server)


_HUB_LOCK = threading.Lock()
