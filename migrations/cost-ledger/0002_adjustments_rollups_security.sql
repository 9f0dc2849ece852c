-- Issue 4: adjustments, QA rows, latency histograms, daily rollups, org prices.
-- Issue 3: rate-limit windows and row-level security on every table that holds an org's data.

-- One ledger for charges and corrections. A call's charge is seq 0; its n-th adjustment is seq n
-- (a new row: nothing is ever updated in place). Adjustments carry cost DELTAS, zero tokens.
ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS entry_kind TEXT NOT NULL DEFAULT 'charge';
ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS adjustment_id UUID;
ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS row_index INTEGER;
ALTER TABLE ledger_entries ADD COLUMN IF NOT EXISTS note TEXT;
ALTER TABLE ledger_entries DROP CONSTRAINT IF EXISTS ledger_entries_pkey;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_pkey PRIMARY KEY (call_id, seq);
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_kind CHECK (
    (entry_kind = 'charge' AND seq = 0 AND adjustment_id IS NULL)
    OR (entry_kind = 'adjustment' AND seq > 0 AND adjustment_id IS NOT NULL));
-- GET /costs/calls pages newest first by (occurred_at, call_id, seq) within an org.
DROP INDEX IF EXISTS ledger_entries_org_time;
CREATE INDEX IF NOT EXISTS ledger_entries_org_page
    ON ledger_entries (org_id, occurred_at DESC, call_id DESC, seq DESC);

ALTER TABLE evaluation_costs ADD COLUMN IF NOT EXISTS qa_rows BIGINT NOT NULL DEFAULT 0;

-- The distinct dataset rows an evaluation's calls judged (events carry row_index).
CREATE TABLE IF NOT EXISTS evaluation_rows (
    evaluation_id UUID NOT NULL,
    row_index INTEGER NOT NULL,
    org_id TEXT NOT NULL,
    PRIMARY KEY (evaluation_id, row_index)
);

-- Latency histogram per (evaluation, metric): bucket b holds calls with
-- floor(ln(max(latency_ms, 1)) / ln(1.05)) = b, i.e. latency in [1.05^b, 1.05^(b+1)) ms.
CREATE TABLE IF NOT EXISTS evaluation_metric_latency (
    evaluation_id UUID NOT NULL,
    metric TEXT NOT NULL,
    bucket SMALLINT NOT NULL,
    org_id TEXT NOT NULL,
    calls BIGINT NOT NULL,
    max_latency_ms INTEGER NOT NULL,
    PRIMARY KEY (evaluation_id, metric, bucket)
);

-- Daily rollups (UTC days) that /summary and /daily read: a month is a few thousand rows.
-- metric '' holds calls without a metric.
CREATE TABLE IF NOT EXISTS daily_costs (
    org_id TEXT NOT NULL,
    day DATE NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    metric TEXT NOT NULL,
    calls BIGINT NOT NULL DEFAULT 0,
    failed_calls BIGINT NOT NULL DEFAULT 0,
    unpriced_calls BIGINT NOT NULL DEFAULT 0,
    input_tokens BIGINT NOT NULL DEFAULT 0,
    cache_read_tokens BIGINT NOT NULL DEFAULT 0,
    cache_write_tokens BIGINT NOT NULL DEFAULT 0,
    cache_write_1h_tokens BIGINT NOT NULL DEFAULT 0,
    output_tokens BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens BIGINT NOT NULL DEFAULT 0,
    input_audio_tokens BIGINT NOT NULL DEFAULT 0,
    output_audio_tokens BIGINT NOT NULL DEFAULT 0,
    web_search_requests BIGINT NOT NULL DEFAULT 0,
    cost_input NUMERIC(38, 18) NOT NULL DEFAULT 0,
    cost_cache_read NUMERIC(38, 18) NOT NULL DEFAULT 0,
    cost_cache_write NUMERIC(38, 18) NOT NULL DEFAULT 0,
    cost_output NUMERIC(38, 18) NOT NULL DEFAULT 0,
    cost_input_audio NUMERIC(38, 18) NOT NULL DEFAULT 0,
    cost_output_audio NUMERIC(38, 18) NOT NULL DEFAULT 0,
    cost_web_search NUMERIC(38, 18) NOT NULL DEFAULT 0,
    total_cost NUMERIC(38, 18) NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, day, project_id, user_id, provider, model, metric)
);
-- Members read only their own rows.
CREATE INDEX IF NOT EXISTS daily_costs_user ON daily_costs (org_id, user_id, day);

-- Org-negotiated and admin-entered prices: who entered them, and why.
ALTER TABLE price_catalog ADD COLUMN IF NOT EXISTS created_by TEXT;
CREATE INDEX IF NOT EXISTS price_catalog_org ON price_catalog (org_id) WHERE org_id IS NOT NULL;

-- rex_shared.security.RATE_LIMIT_DDL
CREATE TABLE IF NOT EXISTS rate_limit_windows (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Row-level security (rex_shared.db.rls_policy_sql for each tenant table). API transactions
-- call scope_to_org, consumers bypass_rls; FORCE makes the owning role obey it too.

ALTER TABLE ledger_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY ledger_entries_tenant ON ledger_entries
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');


ALTER TABLE evaluation_costs ENABLE ROW LEVEL SECURITY;
ALTER TABLE evaluation_costs FORCE ROW LEVEL SECURITY;
CREATE POLICY evaluation_costs_tenant ON evaluation_costs
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');


ALTER TABLE evaluation_metric_costs ENABLE ROW LEVEL SECURITY;
ALTER TABLE evaluation_metric_costs FORCE ROW LEVEL SECURITY;
CREATE POLICY evaluation_metric_costs_tenant ON evaluation_metric_costs
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');


ALTER TABLE evaluation_rows ENABLE ROW LEVEL SECURITY;
ALTER TABLE evaluation_rows FORCE ROW LEVEL SECURITY;
CREATE POLICY evaluation_rows_tenant ON evaluation_rows
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');


ALTER TABLE evaluation_metric_latency ENABLE ROW LEVEL SECURITY;
ALTER TABLE evaluation_metric_latency FORCE ROW LEVEL SECURITY;
CREATE POLICY evaluation_metric_latency_tenant ON evaluation_metric_latency
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');


ALTER TABLE daily_costs ENABLE ROW LEVEL SECURITY;
ALTER TABLE daily_costs FORCE ROW LEVEL SECURITY;
CREATE POLICY daily_costs_tenant ON daily_costs
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

-- The catalog holds public rows (org_id NULL) every org reads, and org-negotiated rows only
-- their org sees. Public rows are written only by trusted code (seeding, bypass).
ALTER TABLE price_catalog ENABLE ROW LEVEL SECURITY;
ALTER TABLE price_catalog FORCE ROW LEVEL SECURITY;
CREATE POLICY price_catalog_tenant ON price_catalog
    USING (org_id IS NULL
           OR org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');
