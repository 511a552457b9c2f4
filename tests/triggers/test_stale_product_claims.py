"""A product scan's claim left behind without its job — the station killed (or the database
lost) between claiming the order and queueing its sticker — must not hide the order from every
later product scan: after ``STALE_CLAIM_S`` it is free again, as for an order-id scan. A fresh
claim, or one whose job was queued, is never taken. Both backends (real SQLite, real PostgreSQL)."""

from __future__ import annotations

from printstation.triggers.statebase import STALE_CLAIM_S

from .test_state_contract import _sync, open_state  # noqa: F401 (fixture)
from support.pg_server import pg, pg_url  # noqa: F401 - fixtures

SKU = "4600000000001"


def _age_claims(st, seconds: float) -> None:
    """The claims were made ``seconds`` ago (the station that made them died then)."""
    if hasattr(st, "tx"):
        with st.tx() as db:
            db.execute("update wb_printed set ts = ts - ?", (seconds,))
    else:
        st._exec("UPDATE wb_printed SET ts = ts - %s", (seconds,))


def test_a_product_claim_left_without_its_job_frees_the_order_after_a_while(open_state):
    st = open_state("s1")
    _sync(st, n_orders=2, sku=SKU)
    first = st.claim_next_order(SKU, via=f"product:{SKU}", printer="zebra")
    second = st.claim_next_order(SKU, via=f"product:{SKU}", printer="zebra")
    assert {first, second} == {100, 101}
    st.mark_printed(second, 7, f"product:{SKU}", "zebra")  # queued as job 7
    # the station dies before it queued the first order's sticker; a fresh claim still holds
    assert st.claim_next_order(SKU, via=f"product:{SKU}", printer="zebra") is None
    _age_claims(st, STALE_CLAIM_S + 1)
    again = open_state("s2") if open_state.backend == "postgresql" else st
    assert again.claim_next_order(SKU, via=f"product:{SKU}", printer="zebra2") == first
    assert again.claim_next_order(SKU, via=f"product:{SKU}", printer="zebra2") is None  # 101 was printed
    assert again.claim_order(first, "order", "zebra2") is not None  # and it is held afresh
