-- Channels from the API (routing rules, pacing, secret hints), pacing state, request rate
-- limits, and row-level security on the tenant tables (issue 3).

-- rules: a JSON list of {event_types, project_ids, budget_ids, min_severity}; empty = everything.
-- secret_hints: what the API may show of each secret ("...abcd"), never the secret itself.
ALTER TABLE channels
    ADD COLUMN rules JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN rate_per_s DOUBLE PRECISION NOT NULL DEFAULT 1 CHECK (rate_per_s > 0),
    ADD COLUMN rate_burst INT NOT NULL DEFAULT 1 CHECK (rate_burst >= 1),
    ADD COLUMN secret_hints JSONB NOT NULL DEFAULT '{}'::jsonb;
CREATE INDEX channels_org_recent ON channels (org_id, created_at DESC, id DESC);

CREATE INDEX deliveries_channel ON deliveries (channel_id) WHERE channel_id IS NOT NULL;

-- Per-channel token buckets (GCRA): the theoretical arrival time of the next send, shared by
-- every instance; a transaction taking slots locks its channel's row.
CREATE TABLE channel_pacing (
    channel_key TEXT PRIMARY KEY,
    tat TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS rate_limit_windows (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Tenant isolation as defence in depth. API transactions set app.org_id; the consumer and the
-- delivery worker (trusted, many orgs at once) set app.rls_bypass. Rows with org_id NULL (default
-- channels for every org) match no org, so only the bypassing worker and consumer see them.
ALTER TABLE channels ENABLE ROW LEVEL SECURITY;
ALTER TABLE channels FORCE ROW LEVEL SECURITY;
CREATE POLICY channels_tenant ON channels
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

ALTER TABLE deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE deliveries FORCE ROW LEVEL SECURITY;
CREATE POLICY deliveries_tenant ON deliveries
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');
