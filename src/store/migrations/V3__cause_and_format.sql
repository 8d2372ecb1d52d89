-- The last failure's cause as a stable code (timeout, http_404...), beside its text;
-- and the encoding of `bodies` and `request`, so a later change can read older rows.
ALTER TABLE deliveries ADD COLUMN last_cause TEXT;
ALTER TABLE deliveries ADD COLUMN format BIGINT NOT NULL DEFAULT 1;
