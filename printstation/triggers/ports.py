"""What the scan path needs from the rest of the station: the daemon's queue (submit and the
``PS:`` commands) and the marketplace labels. Typed as protocols so triggers never import them."""

from __future__ import annotations

from typing import Any, Protocol


class Submitter(Protocol):
    """What triggers need from the daemon to queue a label (``copies=None``: the printer's own
    setting). The job returned is a :class:`~printstation.queue.base.Job` or a mapping alike."""

    def submit(self, printer: str, data: bytes, *, copies: int | None = None, key: str | None = None,
               name: str | None = None, source: str = "api", source_ref: str | None = None,
               reprint: bool = False) -> Any: ...

    def submit_ex(self, printer: str, data: bytes, *, copies: int | None = None, key: str | None = None,
                  name: str | None = None, source: str = "api", source_ref: str | None = None,
                  reprint: bool = False) -> tuple[Any, bool]:
        """Like :meth:`submit`; ``(job, created)``: ``created`` is False for an existing ``key``."""
        ...


class Control(Protocol):
    """The daemon's queue commands used by ``PS:`` codes (``job`` results carry ``.id``)."""

    def pause(self, printer: str) -> Any: ...
    def resume(self, printer: str) -> Any: ...
    def reprint_last(self, printer: str) -> Any: ...
    def cancel_last(self, printer: str) -> Any: ...


class Labels(Protocol):
    """Marketplace labels (cached) — what :class:`printstation.markets` provides."""

    def wb_order_sticker(self, order_id: int, type: str, size: tuple[int, int]) -> bytes: ...
    def wb_supply_qr(self, supply_id: str, type: str) -> bytes: ...
    def wb_box_sticker(self, trbx_id: str, supply_id: str, type: str) -> bytes: ...
    def ali_label(self, logistic_order_id: int) -> bytes: ...
    def ali_find(self, tracking: str) -> int: ...
