-- How an `http` target's rule wants its request made (method, headers), as JSON;
-- NULL for a plain POST.
ALTER TABLE deliveries ADD COLUMN request TEXT;
