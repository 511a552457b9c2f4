"""A tiny in-process metrics registry rendered as Prometheus text (no dependency).

Modules create their metrics at import time::

    CALLS = metrics.counter("printstation_market_calls_total", "Marketplace API calls", ("market", "status"))
    CALLS.inc(market="wb", status="200")
"""

from __future__ import annotations

import math
import threading
from typing import Iterable

_LOCK = threading.Lock()
_REGISTRY: dict[str, "_Metric"] = {}


def _labels(names: tuple[str, ...], values: dict[str, str]) -> tuple[str, ...]:
    if set(values) != set(names):
        raise ValueError(f"labels {sorted(values)} do not match {sorted(names)}")
    return tuple(str(values[n]) for n in names)


def _fmt_labels(names: tuple[str, ...], values: tuple[str, ...], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(v: float) -> str:
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


class _Metric:
    kind = ""

    def __init__(self, name: str, help: str, labels: Iterable[str] = ()) -> None:
        self.name, self.help, self.labelnames = name, help, tuple(labels)
        self._lock = threading.Lock()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def render(self) -> list[str]:
        """The metric's lines in Prometheus text exposition format."""
        raise NotImplementedError


class Counter(_Metric):
    kind = "counter"

    def __init__(self, *a, **kw) -> None:
        super().__init__(*a, **kw)
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = _labels(self.labelnames, labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(_labels(self.labelnames, labels), 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        return self.header() + [f"{self.name}{_fmt_labels(self.labelnames, k)} {_num(v)}" for k, v in items]


class Gauge(Counter):
    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        key = _labels(self.labelnames, labels)
        with self._lock:
            self._values[key] = float(value)


class Histogram(_Metric):
    kind = "histogram"
    DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

    def __init__(self, name: str, help: str, labels: Iterable[str] = (),
                 buckets: Iterable[float] = DEFAULT_BUCKETS) -> None:
        super().__init__(name, help, labels)
        self.buckets = tuple(sorted(buckets)) + (math.inf,)
        self._values: dict[tuple[str, ...], list[float]] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = _labels(self.labelnames, labels)
        with self._lock:
            row = self._values.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, b in enumerate(self.buckets):
                if value <= b:
                    row[i] += 1
            row[-2] += value
            row[-1] += 1

    def render(self) -> list[str]:
        out = self.header()
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._values.items())
        for key, row in items:
            for i, b in enumerate(self.buckets):
                le = f'le="{_num(b)}"'
                out.append(f"{self.name}_bucket{_fmt_labels(self.labelnames, key, le)} {_num(row[i])}")
            out.append(f"{self.name}_sum{_fmt_labels(self.labelnames, key)} {_num(row[-2])}")
            out.append(f"{self.name}_count{_fmt_labels(self.labelnames, key)} {_num(row[-1])}")
        return out


def _register(cls, name: str, *a, **kw):
    with _LOCK:
        m = _REGISTRY.get(name)
        if m is None:
            m = _REGISTRY[name] = cls(name, *a, **kw)
        elif not isinstance(m, cls):
            raise ValueError(f"metric {name} already registered as {m.kind}")
        return m


def counter(name: str, help: str, labels: Iterable[str] = ()) -> Counter:
    return _register(Counter, name, help, labels)


def gauge(name: str, help: str, labels: Iterable[str] = ()) -> Gauge:
    return _register(Gauge, name, help, labels)


def histogram(name: str, help: str, labels: Iterable[str] = (), buckets: Iterable[float] = Histogram.DEFAULT_BUCKETS) -> Histogram:
    return _register(Histogram, name, help, labels, buckets=buckets)


#: The last event of a kind per key, e.g. ``("market_error", "wb") → (time, "HTTP 429 GET /…")``:
#: for the web console's status strip (not part of the Prometheus text).
_NOTES: dict[tuple[str, str], tuple[float, str]] = {}


def note(kind: str, key: str, text: str) -> None:
    """Remember ``text`` as the last ``kind`` event of ``key`` (e.g. a market's last error)."""
    import time

    with _LOCK:
        if len(_NOTES) < 1024 or (kind, key) in _NOTES:
            _NOTES[(kind, key)] = (time.time(), text[:500])


def notes(kind: str) -> dict[str, tuple[float, str]]:
    """``{key: (time, text)}`` of the last ``kind`` events."""
    with _LOCK:
        return {k: v for (kd, k), v in _NOTES.items() if kd == kind}


def values(metric: str) -> dict[tuple[str, ...], float]:
    """A counter's or gauge's current values by label values (empty when not registered)."""
    with _LOCK:
        m = _REGISTRY.get(metric)
    if not isinstance(m, Counter):
        return {}
    with m._lock:
        return dict(m._values)


def render() -> str:
    """Every registered metric in Prometheus text exposition format."""
    with _LOCK:
        metrics = list(_REGISTRY.values())
    lines: list[str] = []
    for m in sorted(metrics, key=lambda m: m.name):
        lines += m.render()
    return "\n".join(lines) + "\n"
