"""The control API's router: the route tables of the face modules, in order (the first match
answers; a path that matches with another method answers 405 with ``Allow``)."""

from __future__ import annotations

from . import api, console, scan_api, webhooks_api
from .http import Router

#: The face modules whose ``ROUTES`` make up the API.
ROUTE_TABLES = (api.ROUTES, console.ROUTES, scan_api.ROUTES, webhooks_api.ROUTES)


def build_router() -> Router:
    """The router a daemon hands its API server; the web console's cookie stands in for the token."""
    return Router.of(ROUTE_TABLES, session_ok=console.session_ok)


__all__ = ["ROUTE_TABLES", "build_router"]
