-- Budget service schema, foundation. Names are unqualified: the migration runner sets
-- search_path to the service schema. Money is NUMERIC(38,18) (exact, never float).

CREATE TABLE budgets (
    id UUID PRIMARY KEY,
    org_id TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('organization', 'project', 'user')),
    entity_id TEXT NOT NULL,
    limit_amount NUMERIC(38, 18) NOT NULL CHECK (limit_amount > 0),
    period TEXT NOT NULL CHECK (period IN ('daily', 'weekly', 'monthly', 'quarterly', 'yearly')),
    timezone TEXT NOT NULL DEFAULT 'UTC',
    -- Percent of the limit; absolute thresholds (issue 5) can come as a sibling column.
    thresholds NUMERIC[] NOT NULL DEFAULT '{50,80,90,100}',
    is_hard_limit BOOLEAN NOT NULL DEFAULT false,
    -- Optional narrowing: {"provider": [...], "model": [...], "metric": [...]}.
    filters JSONB,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    archived_at TIMESTAMPTZ
);
-- The consumer looks budgets up by who pays; the API lists them per org, newest first.
CREATE INDEX budgets_payer ON budgets (org_id, type, entity_id);
CREATE INDEX budgets_org_created ON budgets (org_id, created_at DESC, id DESC);

-- Periods are data: a row appears with the first usage in a period, so no reset job exists
-- and past periods stay queryable.
CREATE TABLE budget_periods (
    budget_id UUID NOT NULL REFERENCES budgets (id),
    period_start TIMESTAMPTZ NOT NULL,
    period_end TIMESTAMPTZ NOT NULL,
    usage_amount NUMERIC(38, 18) NOT NULL DEFAULT 0,
    events INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (budget_id, period_start),
    CHECK (period_end > period_start)
);

-- One row per fired (budget, period, threshold, kind): the primary key is what makes a
-- threshold fire at most once per period across instances. Re-arming deletes the row.
CREATE TABLE threshold_firings (
    budget_id UUID NOT NULL REFERENCES budgets (id),
    period_start TIMESTAMPTZ NOT NULL,
    threshold NUMERIC NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('actual', 'forecast')),
    alert_id UUID NOT NULL,
    fired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (budget_id, period_start, threshold, kind)
);

CREATE TABLE cost_alerts (
    id UUID PRIMARY KEY,
    org_id TEXT NOT NULL,
    budget_id UUID NOT NULL REFERENCES budgets (id),
    period_start TIMESTAMPTZ NOT NULL,
    period_end TIMESTAMPTZ NOT NULL,
    threshold NUMERIC NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('actual', 'forecast')),
    severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    usage_amount NUMERIC(38, 18) NOT NULL,
    limit_amount NUMERIC(38, 18) NOT NULL,
    usage_percent NUMERIC NOT NULL,  -- unbounded: a tiny limit can be overrun many times
    is_hard_limit BOOLEAN NOT NULL,
    crossed_at TIMESTAMPTZ NOT NULL,
    acknowledged_at TIMESTAMPTZ
);
CREATE INDEX cost_alerts_org_crossed ON cost_alerts (org_id, crossed_at DESC, id DESC);
CREATE INDEX cost_alerts_budget ON cost_alerts (budget_id, period_start);

-- Copied from rex_shared.outbox.OUTBOX_DDL.
-- rex:include outbox

-- Copied from rex_shared.inbox.INBOX_DDL.
-- rex:include inbox
