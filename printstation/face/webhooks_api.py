"""``GET /webhooks?limit=N`` on the control API: the newest webhook notifications and what they
did (``{"webhooks": [record, …]}``, default 50, at most 1000; 503 while the listener of
:mod:`printstation.triggers.webhooks` is not running)."""

from __future__ import annotations

from typing import Any

from .http import HttpError, Request, RouteTable

ROUTES = RouteTable()


@ROUTES.route("GET", r"/webhooks")
def get_webhooks(d: Any, req: Request) -> tuple[int, Any]:
    t = getattr(d, "triggers", None)
    hooks = getattr(t, "hook_log", None)
    if hooks is None:
        raise HttpError(503, "the webhook listener is not running ([webhooks] listen)")
    limit = req.int_arg("limit", 50, 1, 1000)
    return 200, {"webhooks": hooks.recent(limit or 50)}
