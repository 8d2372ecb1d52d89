-- The shared outbox. Times are unix milliseconds, as in the SQLite store; leases and
-- send slots use the database's clock, so replicas on different hosts agree.
CREATE SEQUENCE delivery_seq;

CREATE TABLE deliveries (
    id          BIGSERIAL PRIMARY KEY,
    seq         BIGINT NOT NULL,       -- queue order: a replay moves a delivery to the tail
    event_id    TEXT NOT NULL,
    route       TEXT NOT NULL,
    target      TEXT NOT NULL,
    rule        TEXT NOT NULL,
    status      TEXT NOT NULL,
    bodies      TEXT NOT NULL,         -- JSON array of the HTTP bodies, in order
    parts_sent  INTEGER NOT NULL DEFAULT 0,
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    since       BIGINT NOT NULL,
    next_at     BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    last_error  TEXT
);
CREATE INDEX deliveries_queue ON deliveries (target, seq) WHERE status = 'pending';
CREATE INDEX deliveries_status ON deliveries (status, id);

CREATE TABLE seen (
    route     TEXT NOT NULL,
    key       TEXT NOT NULL,
    event_id  TEXT NOT NULL,
    at        BIGINT NOT NULL,
    PRIMARY KEY (route, key)
);

-- One replica delivers to a target at a time: the holder of its lease.
CREATE TABLE target_leases (
    target  TEXT PRIMARY KEY,
    owner   TEXT NOT NULL,
    until   BIGINT NOT NULL
);

-- The next moment a target may be sent to, whichever replica sends.
CREATE TABLE target_pacing (
    target   TEXT PRIMARY KEY,
    next_at  BIGINT NOT NULL
);
