-- cost-ledger schema (search_path is the service schema, `ledger` by default).
-- Money: NUMERIC(38,18) for amounts (exact to 10^-18 $); rates are unconstrained NUMERIC
-- in $ per million tokens ($ per request for web search).

CREATE TABLE IF NOT EXISTS price_catalog (
    id TEXT PRIMARY KEY,                       -- deterministic: genai:<provider>:<model>:<from>[:tier][:batch]
    provider TEXT NOT NULL,
    model_id TEXT NOT NULL,                    -- genai-prices model family id (gpt-4o, claude-sonnet-4-5)
    model_name TEXT,
    service_tier TEXT NOT NULL DEFAULT 'default',
    batch BOOLEAN NOT NULL DEFAULT false,
    org_id TEXT,                               -- NULL: public price; else negotiated for one org
    effective_from TIMESTAMPTZ NOT NULL,
    effective_to TIMESTAMPTZ,                  -- exclusive; NULL: still in force
    input NUMERIC,
    cache_read NUMERIC,
    cache_write_5m NUMERIC,
    cache_write_1h NUMERIC,
    output NUMERIC,
    input_audio NUMERIC,
    output_audio NUMERIC,
    per_web_search NUMERIC,
    long_context_threshold INTEGER,            -- input tokens strictly above it: all at lc_* rates
    lc_input NUMERIC,
    lc_cache_read NUMERIC,
    lc_cache_write_5m NUMERIC,
    lc_cache_write_1h NUMERIC,
    lc_output NUMERIC,
    source TEXT NOT NULL CHECK (source IN ('genai-prices', 'override', 'admin')),
    note TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK (effective_to IS NULL OR effective_to > effective_from),
    CHECK (long_context_threshold IS NULL OR long_context_threshold >= 0),
    CHECK (LEAST(input, cache_read, cache_write_5m, cache_write_1h, output, input_audio,
                 output_audio, per_web_search, lc_input, lc_cache_read, lc_cache_write_5m,
                 lc_cache_write_1h, lc_output) >= 0)
);
CREATE INDEX IF NOT EXISTS price_catalog_lookup
    ON price_catalog (provider, model_id, service_tier, batch, effective_from);

-- One row per provider call (call_id is the natural idempotency key). Append-only: corrections
-- will be separate adjustment rows that reference call_id, never updates.
CREATE TABLE IF NOT EXISTS ledger_entries (
    call_id UUID PRIMARY KEY,
    event_id TEXT NOT NULL,
    org_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    evaluation_id UUID,
    metric TEXT,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,                       -- as returned by the provider
    model_id TEXT,                             -- resolved family; NULL when unknown
    requested_model TEXT NOT NULL,
    api TEXT NOT NULL,
    call_status TEXT NOT NULL CHECK (call_status IN ('succeeded', 'failed')),
    error TEXT,
    status TEXT NOT NULL CHECK (status IN ('priced', 'unpriced')),
    service_tier TEXT NOT NULL,
    batch BOOLEAN NOT NULL,
    price_id TEXT,                             -- the catalog row used; NULL when unpriced
    input_tokens BIGINT NOT NULL,
    cache_read_tokens BIGINT NOT NULL,
    cache_write_tokens BIGINT NOT NULL,
    cache_write_1h_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    reasoning_tokens BIGINT NOT NULL,
    input_audio_tokens BIGINT NOT NULL,
    output_audio_tokens BIGINT NOT NULL,
    web_search_requests BIGINT NOT NULL,
    cost_input NUMERIC(38, 18) NOT NULL,
    cost_cache_read NUMERIC(38, 18) NOT NULL,
    cost_cache_write NUMERIC(38, 18) NOT NULL,
    cost_output NUMERIC(38, 18) NOT NULL,
    cost_input_audio NUMERIC(38, 18) NOT NULL,
    cost_output_audio NUMERIC(38, 18) NOT NULL,
    cost_web_search NUMERIC(38, 18) NOT NULL,
    total_cost NUMERIC(38, 18) NOT NULL,
    currency TEXT NOT NULL DEFAULT 'USD',
    started_at TIMESTAMPTZ NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,          -- completed_at of the call: prices are read here
    recorded_at TIMESTAMPTZ NOT NULL,
    latency_ms INTEGER NOT NULL,
    provider_request_id TEXT,
    raw_usage JSONB
);
CREATE INDEX IF NOT EXISTS ledger_entries_org_time ON ledger_entries (org_id, occurred_at);
CREATE INDEX IF NOT EXISTS ledger_entries_evaluation
    ON ledger_entries (evaluation_id) WHERE evaluation_id IS NOT NULL;
-- The backlog a later price addition reprices.
CREATE INDEX IF NOT EXISTS ledger_entries_unpriced
    ON ledger_entries (provider, model) WHERE status = 'unpriced';

CREATE TABLE IF NOT EXISTS evaluation_costs (
    evaluation_id UUID PRIMARY KEY,
    org_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    calls BIGINT NOT NULL DEFAULT 0,
    failed_calls BIGINT NOT NULL DEFAULT 0,
    unpriced_calls BIGINT NOT NULL DEFAULT 0,
    latency_ms_sum BIGINT NOT NULL DEFAULT 0,
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
    first_call_at TIMESTAMPTZ,
    last_call_at TIMESTAMPTZ
);
CREATE INDEX IF NOT EXISTS evaluation_costs_org ON evaluation_costs (org_id);

-- metric '' holds the calls of an evaluation that named no metric.
CREATE TABLE IF NOT EXISTS evaluation_metric_costs (
    evaluation_id UUID NOT NULL,
    metric TEXT NOT NULL,
    org_id TEXT NOT NULL,
    calls BIGINT NOT NULL DEFAULT 0,
    failed_calls BIGINT NOT NULL DEFAULT 0,
    unpriced_calls BIGINT NOT NULL DEFAULT 0,
    latency_ms_sum BIGINT NOT NULL DEFAULT 0,
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
    first_call_at TIMESTAMPTZ,
    last_call_at TIMESTAMPTZ,
    PRIMARY KEY (evaluation_id, metric)
);

-- rex_shared.outbox.OUTBOX_DDL
-- rex:include outbox

-- rex_shared.inbox.INBOX_DDL
-- rex:include inbox
