-- Issue 7: datasets, cost prediction and budget reservation per evaluation, resumable runs
-- (leases), cancellation, learned output sizes. Issue 3: provider keys (encrypted), rate
-- limit windows, row-level security on every table with an org_id.

CREATE TABLE datasets (
    id UUID PRIMARY KEY,
    org_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    rows_total INTEGER NOT NULL CHECK (rows_total > 0),
    size_bytes INTEGER NOT NULL,
    rows JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX datasets_org_created ON datasets (org_id, created_at DESC, id DESC);

ALTER TABLE evaluations
    ADD COLUMN dataset_id UUID REFERENCES datasets (id),
    ADD COLUMN estimated_cost NUMERIC(38, 18),
    ADD COLUMN estimate JSONB,
    ADD COLUMN warnings JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN reservation_id TEXT,
    ADD COLUMN settled_at TIMESTAMPTZ,
    ADD COLUMN cancel_requested_at TIMESTAMPTZ,
    -- The instance running the evaluation holds a lease it renews; an expired lease (a crashed
    -- instance) lets another one resume the run.
    ADD COLUMN lease_owner TEXT,
    ADD COLUMN lease_until TIMESTAMPTZ;
-- Members list only their own evaluations.
CREATE INDEX evaluations_org_user_created ON evaluations (org_id, user_id, created_at DESC, id DESC);
-- Finished runs whose reservation is not settled yet (the budget service was away).
CREATE INDEX evaluations_unsettled ON evaluations (completed_at)
    WHERE reservation_id IS NOT NULL AND settled_at IS NULL;

-- What a call's reply was expected to weigh (tokens) and what it used, to learn output
-- sizes per metric, step and requested model.
ALTER TABLE llm_calls
    ADD COLUMN requested_model TEXT,
    ADD COLUMN expected_output_tokens INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN usage JSONB;
CREATE INDEX llm_calls_learning ON llm_calls (requested_model, metric, step, created_at DESC)
    WHERE status = 'succeeded' AND expected_output_tokens > 0;

-- An organization's own provider API keys, sealed with AES-256-GCM (rex_shared.crypto).
CREATE TABLE provider_keys (
    org_id TEXT NOT NULL,
    provider TEXT NOT NULL CHECK (provider IN ('openai', 'anthropic')),
    ciphertext BYTEA NOT NULL,
    kek_id TEXT NOT NULL,
    last4 TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, provider)
);

-- Copied from rex_shared.security.RATE_LIMIT_DDL (a unit test keeps the two identical).
CREATE TABLE IF NOT EXISTS rate_limit_windows (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Row-level security (rex_shared.db.rls_policy_sql): API transactions scope to the caller's
-- org, the run loop (trusted, many orgs) bypasses.
ALTER TABLE evaluations ENABLE ROW LEVEL SECURITY;
ALTER TABLE evaluations FORCE ROW LEVEL SECURITY;
CREATE POLICY evaluations_tenant ON evaluations
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

ALTER TABLE datasets ENABLE ROW LEVEL SECURITY;
ALTER TABLE datasets FORCE ROW LEVEL SECURITY;
CREATE POLICY datasets_tenant ON datasets
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

ALTER TABLE provider_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE provider_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY provider_keys_tenant ON provider_keys
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');
