-- The request role appends to the outbox with ON CONFLICT (event_id) DO NOTHING, which needs
-- SELECT on that column: it may read event ids (random UUIDs), never the events themselves.
DO $grant$
BEGIN
    EXECUTE format('GRANT SELECT (event_id) ON outbox TO %I', current_user || '_api');
END
$grant$;
