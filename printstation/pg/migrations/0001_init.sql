-- printstation shared database, version 1: the job queue and the trigger state of every station.

CREATE TABLE jobs (
    id          BIGSERIAL PRIMARY KEY,
    station     TEXT NOT NULL,
    printer     TEXT NOT NULL,
    source      TEXT NOT NULL DEFAULT 'api',
    source_ref  TEXT,
    name        TEXT,
    key         TEXT,
    copies      INTEGER,
    state       TEXT NOT NULL DEFAULT 'queued'
                CHECK (state IN ('queued', 'sending', 'done', 'failed', 'canceled', 'interrupted')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    resends     INTEGER NOT NULL DEFAULT 0,
    error       TEXT,
    size        INTEGER NOT NULL DEFAULT 0,
    created     DOUBLE PRECISION NOT NULL,
    updated     DOUBLE PRECISION NOT NULL,
    sent        DOUBLE PRECISION,
    done        DOUBLE PRECISION,
    reprint_of  BIGINT,
    fit         BOOLEAN NOT NULL DEFAULT false
);
-- Idempotency keys are unique across every station.
CREATE UNIQUE INDEX jobs_key ON jobs (key) WHERE key IS NOT NULL;
CREATE INDEX jobs_fifo ON jobs (station, printer, id) WHERE state = 'queued';
CREATE INDEX jobs_station_state ON jobs (station, state);

CREATE TABLE payloads (
    id      BIGINT PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    data    BYTEA NOT NULL
);

CREATE TABLE printers (
    station TEXT NOT NULL,
    name    TEXT NOT NULL,
    paused  BOOLEAN NOT NULL DEFAULT false,
    PRIMARY KEY (station, name)
);

CREATE TABLE scans (
    id       BIGSERIAL PRIMARY KEY,
    station  TEXT NOT NULL,
    ts       DOUBLE PRECISION NOT NULL,
    scanner  TEXT NOT NULL,
    printer  TEXT,
    code     TEXT NOT NULL,
    action   TEXT,
    ref      TEXT,
    outcome  TEXT NOT NULL,
    job      TEXT,
    key      TEXT,
    detail   TEXT
);
CREATE INDEX scans_station ON scans (station, id);

CREATE TABLE wb_supplies (
    id          TEXT PRIMARY KEY,
    done        BOOLEAN NOT NULL,
    created_at  TEXT,
    closed_at   TEXT,
    name        TEXT,
    synced      DOUBLE PRECISION NOT NULL
);

CREATE TABLE wb_orders (
    id          BIGINT PRIMARY KEY,
    supply_id   TEXT,
    created_at  TEXT,
    article     TEXT,
    skus        TEXT NOT NULL,
    synced      DOUBLE PRECISION NOT NULL
);
CREATE INDEX wb_orders_supply ON wb_orders (supply_id);

CREATE TABLE wb_order_skus (
    order_id  BIGINT NOT NULL,
    sku       TEXT NOT NULL,
    PRIMARY KEY (sku, order_id)
);

CREATE TABLE wb_boxes (
    id          TEXT PRIMARY KEY,
    supply_id   TEXT NOT NULL,
    synced      DOUBLE PRECISION NOT NULL
);

-- One row per order whose sticker was printed or is being printed (claimed by a scan): the
-- primary key makes a claim atomic across stations.
CREATE TABLE wb_printed (
    order_id  BIGINT PRIMARY KEY,
    ts        DOUBLE PRECISION NOT NULL,
    job       TEXT,
    via       TEXT,
    station   TEXT,
    printer   TEXT
);

CREATE TABLE meta (
    key    TEXT PRIMARY KEY,
    value  TEXT
);
