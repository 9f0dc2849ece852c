-- Notifier schema, first version. Names are unqualified: the migration runner sets search_path.

-- Where alerts can go. org_id NULL marks a default channel configured for every organization.
-- config holds only non-secret settings (recipients, TLS mode, ...); secrets (SMTP password,
-- webhook URL, signing key) go to `secret`, encrypted by the service, and are never returned.
CREATE TABLE channels (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    org_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'slack', 'webhook')),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    config JSONB NOT NULL DEFAULT '{}'::jsonb,
    secret BYTEA,
    enabled BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
-- COALESCE so that default channels (org_id NULL) are unique by name too.
CREATE UNIQUE INDEX channels_org_name ON channels (COALESCE(org_id, ''), name);

-- One row per (event, channel): the unit of sending, retrying and auditing. Retries live here,
-- so they survive restarts. channel_key names the target: 'email:default' and 'slack:default'
-- for the configured defaults, 'channel:<uuid>' once channels come from the table (channel_id).
CREATE TABLE deliveries (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    org_id TEXT NOT NULL,
    channel_id UUID REFERENCES channels (id) ON DELETE SET NULL,
    channel_key TEXT NOT NULL,
    channel_kind TEXT NOT NULL CHECK (channel_kind IN ('email', 'slack', 'webhook')),
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'dead')),
    attempts INT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error TEXT,
    payload JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    sent_at TIMESTAMPTZ,
    -- A redelivered event finds its rows already here and sends nothing twice.
    CONSTRAINT deliveries_once UNIQUE (event_id, channel_key)
);
-- The worker's claim query; partial, so the index stays small as sent rows pile up.
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at)
    WHERE status IN ('pending', 'failed');
-- The API's org-scoped, newest-first keyset pages.
CREATE INDEX deliveries_org_recent ON deliveries (org_id, created_at DESC, id DESC);
