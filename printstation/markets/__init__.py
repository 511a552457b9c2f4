"""Marketplace clients: Wildberries (FBS stickers, supply QR, boxes, orders, supplies),
LAliExpress (label PDFs, shipment lookup, handover lists), Ozon (FBS package labels, FBS returns)
and Lamoda (pack and pallet labels), with a label cache in front.

    from printstation.markets import LabelCache, LabelFetcher, WBClient, AliClient
    fetcher = LabelFetcher(wb=WBClient(url, token), cache=LabelCache(data_dir))
    fetcher.wb_order_sticker(123456, "zplv", (58, 40))  # bytes, fetched once, then cached
"""

from .aliexpress import AliClient
from .base import (AnswerTooLarge, ApiAuthError, ApiClient, ApiError, BadLabel, RateLimited, RetryPolicy, Secret,
                   TokenBucket, Unavailable)
from .cache import LabelCache, LabelKey
from .fetcher import AliLabel, LabelFetcher
from .lamoda import LamodaClient
from .ozon import OzonClient
from .settings import (Credentials, MarketSettings, MarketsSettings, ali_client, load_config,
                       parse_markets, resolve_credentials, wb_client)
from .wb import BoxSticker, StickerResult, SupplyNotClosed, SupplyQR, WBClient

__all__ = [
    "AliClient", "AliLabel", "AnswerTooLarge", "ApiAuthError", "ApiClient", "ApiError", "BadLabel", "BoxSticker",
    "Credentials", "LabelCache", "LabelFetcher", "LabelKey", "MarketSettings", "MarketsSettings",
    "RateLimited", "RetryPolicy", "Secret", "StickerResult", "SupplyNotClosed", "SupplyQR",
    "TokenBucket", "Unavailable", "WBClient", "ali_client", "load_config", "parse_markets",
    "resolve_credentials", "wb_client", "OzonClient", "LamodaClient",
]
