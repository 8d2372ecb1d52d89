-- Retention deletes finished rows by age in small batches; without these each batch
-- would scan the whole table.
CREATE INDEX deliveries_finished ON deliveries (status, updated_at) WHERE status <> 'pending';
CREATE INDEX seen_at ON seen (at);
