"""The marketplace and webhook checks of ``printstation doctor`` (:mod:`printstation.face.doctor`):
each token is found and accepted by one cheap authenticated call; ``[webhooks]`` has a usable
secret and a configured printer. No token ever appears in a row."""

from __future__ import annotations

from typing import Any, Mapping

from ..errors import PrintstationError
from .doctor_checks import Check


# -- marketplaces --------------------------------------------------------------------------------

MARKET_TITLES = {"wb": "WB", "ali": "LAliExpress", "ozon": "Ozon", "lamoda": "Lamoda"}


def check_market(market: str, settings: Any, configured: bool, env: Mapping[str, str],
                 timeout: float) -> Check:
    from ..errors import AuthError, MarketplaceError
    from ..markets import settings as msettings
    from ..markets.base import RetryPolicy

    label = f"token {market}"
    title = MARKET_TITLES[market]
    s = settings[market] if settings is not None and not isinstance(settings, Mapping) else None
    if s is None or not hasattr(s, "auth_scheme" if market == "wb" else "max_pdf_mb"):
        s = msettings.MarketSettings.default(market)
    try:
        creds = msettings.resolve_credentials(market, s, env)
    except AuthError as exc:
        if not configured:
            return Check(label, None, f"{title} not configured (no token found)")
        return Check(label, False, str(exc), _token_hint(market))
    retry = RetryPolicy(retries=1, base=0.2, cap=1.0, max_429=1, max_wait_429=5.0)
    try:
        if market in ("ozon", "lamoda"):
            _probe_ol(market, creds, s, timeout, retry)
        elif market == "wb":
            from ..markets.wb import WBClient

            with WBClient(creds.base_url, creds.token, auth_scheme=s.auth_scheme, timeout=timeout,
                          retry=retry, rate_per_min=s.rate_per_min, burst=s.burst) as client:
                client.json("GET", "/api/v3/supplies", params={"limit": 1, "next": 0})
        else:
            from ..markets.aliexpress import AliClient

            with AliClient(creds.base_url, creds.token, timeout=timeout, retry=retry,
                           rate_per_min=s.rate_per_min, burst=s.burst) as client:
                try:
                    client.call("/seller-api/v1/logistic-order/get",
                                {"tracking_numbers": ["PRINTSTATION-DOCTOR"], "page_size": 1, "page": 1})
                except AuthError:
                    raise
                except MarketplaceError as exc:
                    if getattr(exc, "status", 0) and exc.status < 500:  # type: ignore[attr-defined]
                        pass  # a business error: the token itself was accepted
                    else:
                        raise
    except AuthError as exc:
        return Check(label, False, f"{title} refused the token from {creds.source}: {exc}", _token_hint(market))
    except MarketplaceError as exc:
        return Check(label, False, f"{title} at {creds.base_url} not usable: {exc}",
                     f"check the network and [markets.{market}] base_url; the unit's IPAddressAllow= "
                     "must let the station reach the marketplace")
    return Check(label, True, f"{title} accepted the token from {creds.source}")


def _probe_ol(market: str, creds: Any, s: Any, timeout: float, retry: Any) -> None:
    """Ozon: list one return; Lamoda: get a token. Raises when refused or unreachable."""
    if market == "ozon":
        from ..markets.ozon import OzonClient

        with OzonClient(creds.base_url, creds.token, client_id=creds.client_id, timeout=timeout, retry=retry,
                        rate_per_min=s.rate_per_min, burst=s.burst) as client:
            client.json("POST", "/v3/returns/company/fbs", json_body={"filter": {}, "limit": 1, "last_id": 0})
    else:
        from ..markets.lamoda import LamodaClient

        with LamodaClient(creds.base_url, creds.token, client_id=creds.client_id, timeout=timeout, retry=retry,
                          rate_per_min=s.rate_per_min, burst=s.burst) as client:
            client.check()


_PORTALS = {"wb": "the WB seller portal (Settings → API access, category Marketplace)",
            "ali": "the LAliExpress seller portal (API tokens)",
            "ozon": "the Ozon seller portal (Settings → Seller API, role with FBS and returns)",
            "lamoda": "the Lamoda B2B partner portal (API access: client id and secret)"}


def _token_hint(market: str) -> str:
    from ..markets.settings import CRED_FILES

    name = CRED_FILES.get(market, f"{market}-token")
    portal = _PORTALS.get(market, "the marketplace's seller portal")
    extra = (f", set client_id in [markets.{market}], add LoadCredential={name}:/etc/printstation/{name} "
             "in a drop-in (systemctl edit printstation)") if market in ("ozon", "lamoda") else ""
    return (f"create a token in {portal}, save it as /etc/printstation/{name} (root, mode 600: "
            f"install -m 600 /dev/null /etc/printstation/{name}, then paste the token into it){extra} "
            "and systemctl restart printstation")


def check_webhooks(cfg: Any, env: Mapping[str, str]) -> Check | None:
    """``[webhooks] listen``: the secret is readable and usable, the printer exists."""
    from ..triggers.webhooks import WebhookSettings, read_secret

    ws = cfg.sections.get("webhooks")
    if not isinstance(ws, WebhookSettings) or not ws.enabled:
        return None
    try:
        read_secret(ws, env)
    except PrintstationError as exc:
        return Check("webhooks", False, str(exc),
                     "create it: install -m 600 /dev/null /etc/printstation/webhook-secret; "
                     "openssl rand -hex 24 > /etc/printstation/webhook-secret; set [webhooks] secret_file")
    lam = getattr(cfg.markets, "lamoda", None)
    printer = getattr(lam, "printer", None) or cfg.default_printer
    if cfg.printer(printer) is None:
        return Check("webhooks", False, f"[markets.lamoda] printer {printer!r} is not a configured printer",
                     "name one of the [[printers]] in [markets.lamoda] printer")
    assert ws.listen is not None  # enabled
    host, port = ws.listen
    return Check("webhooks", True, f"listening on {host}:{port} for Lamoda notifications; pack labels print on "
                                   f"{printer!r}")
