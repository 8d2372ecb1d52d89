-- Fencing: a lease's epoch grows each time another replica takes the target, and
-- every delivery update names the owner and epoch it was made under, so a replica
-- that lost the target (paused past its lease, cut off from the database) changes
-- nothing when it comes back.
ALTER TABLE target_leases ADD COLUMN epoch BIGINT NOT NULL DEFAULT 1;

-- Each replica says it is alive every second, on the database's clock; a lease whose
-- holder has gone quiet may be taken without waiting for it to run out.
CREATE TABLE replicas (
    owner    TEXT PRIMARY KEY,
    seen_at  BIGINT NOT NULL
);
