-- printstation shared database, version 2: the Ozon FBS returns (synced by the station leading
-- "ozonsync", read by every station's return scans) and the webhook records (Lamoda
-- notifications) of each station.

CREATE TABLE ozon_returns (
    id                  BIGINT PRIMARY KEY,
    return_barcode      TEXT,
    posting_number      TEXT,
    product_name        TEXT,
    product_offer_id    TEXT,
    sku                 TEXT,
    quantity            BIGINT,
    return_reason_name  TEXT,
    return_date         TEXT,
    status              TEXT,
    synced              DOUBLE PRECISION NOT NULL
);
CREATE INDEX ozon_returns_barcode ON ozon_returns (return_barcode);
-- a scanned barcode matches case-insensitively when it does not match exactly
CREATE INDEX ozon_returns_barcode_lower ON ozon_returns (lower(return_barcode));

CREATE TABLE webhooks (
    id       BIGSERIAL PRIMARY KEY,
    station  TEXT NOT NULL,
    ts       DOUBLE PRECISION NOT NULL,
    source   TEXT NOT NULL,
    remote   TEXT,
    type     TEXT,
    ref      TEXT,
    status   TEXT,
    outcome  TEXT NOT NULL,
    job      TEXT,
    key      TEXT,
    detail   TEXT
);
CREATE INDEX webhooks_station ON webhooks (station, id);
