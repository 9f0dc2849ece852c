-- Issue 5 (absolute thresholds, threshold state per basis, forecasts, period closures,
-- reservations) and issue 3 (org on every tenant table, row-level security, rate limits).

-- Thresholds as USD amounts, beside the percent ones.
ALTER TABLE budgets ADD COLUMN threshold_amounts NUMERIC(38, 18)[] NOT NULL DEFAULT '{}';

-- Every tenant table carries org_id, so row-level security can scope it.
ALTER TABLE budget_periods ADD COLUMN org_id TEXT;
UPDATE budget_periods p SET org_id = b.org_id FROM budgets b WHERE b.id = p.budget_id;
ALTER TABLE budget_periods ALTER COLUMN org_id SET NOT NULL;
-- Set once when the period's `budget.period.closed` is published; the partial index keeps the
-- sweep's search for ended, unclosed periods small however much history accumulates.
ALTER TABLE budget_periods ADD COLUMN closed_at TIMESTAMPTZ;
CREATE INDEX budget_periods_open ON budget_periods (period_end, budget_id) WHERE closed_at IS NULL;
CREATE INDEX budget_periods_open_by_budget ON budget_periods (budget_id, period_end)
    WHERE closed_at IS NULL;

-- Threshold state per (budget, period, basis, threshold, kind): a row means "fired", no row
-- means "armed"; re-arming (a new period, a raised limit) is the row's absence.
ALTER TABLE threshold_firings ADD COLUMN org_id TEXT;
UPDATE threshold_firings f SET org_id = b.org_id FROM budgets b WHERE b.id = f.budget_id;
ALTER TABLE threshold_firings ALTER COLUMN org_id SET NOT NULL;
ALTER TABLE threshold_firings ADD COLUMN basis TEXT NOT NULL DEFAULT 'percent'
    CHECK (basis IN ('percent', 'amount'));
ALTER TABLE threshold_firings DROP CONSTRAINT threshold_firings_pkey;
ALTER TABLE threshold_firings ADD PRIMARY KEY (budget_id, period_start, basis, threshold, kind);

ALTER TABLE cost_alerts ADD COLUMN threshold_basis TEXT NOT NULL DEFAULT 'percent'
    CHECK (threshold_basis IN ('percent', 'amount'));
ALTER TABLE cost_alerts ADD COLUMN threshold_amount NUMERIC(38, 18);
ALTER TABLE cost_alerts ADD COLUMN projected_amount NUMERIC(38, 18);
ALTER TABLE cost_alerts ADD COLUMN runs_out_at TIMESTAMPTZ;

-- The guard that makes `budget.period.closed` go out once per (budget, period), and the
-- totals it reported (its event id is derived from the key: budget.domain.closures).
CREATE TABLE period_closures (
    budget_id UUID NOT NULL REFERENCES budgets (id),
    period_start TIMESTAMPTZ NOT NULL,
    org_id TEXT NOT NULL,
    period_end TIMESTAMPTZ NOT NULL,
    usage_amount NUMERIC(38, 18) NOT NULL,
    events INTEGER NOT NULL,
    alerts INTEGER NOT NULL,
    closed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (budget_id, period_start)
);

-- A hold of an evaluation's estimated cost against every budget it falls under.
CREATE TABLE reservations (
    id UUID PRIMARY KEY,
    org_id TEXT NOT NULL,
    evaluation_id UUID NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    estimated_cost NUMERIC(38, 18) NOT NULL CHECK (estimated_cost >= 0),
    -- Costs of the evaluation counted so far; held = clamp(estimated - consumed, 0, estimated).
    consumed_amount NUMERIC(38, 18) NOT NULL DEFAULT 0,
    held_amount NUMERIC(38, 18) NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'settled', 'expired')),
    budget_ids UUID[] NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    released_amount NUMERIC(38, 18)
);
-- One active reservation per evaluation; also how arriving costs find their hold.
CREATE UNIQUE INDEX reservations_active_evaluation ON reservations (org_id, evaluation_id)
    WHERE status = 'active';
CREATE INDEX reservations_active_expiry ON reservations (expires_at) WHERE status = 'active';

-- Active holds per budget (rows live only while their reservation is active), so summing a
-- budget's holds touches only live holds however many reservations ever existed.
CREATE TABLE reservation_holds (
    budget_id UUID NOT NULL REFERENCES budgets (id),
    reservation_id UUID NOT NULL REFERENCES reservations (id),
    org_id TEXT NOT NULL,
    held_amount NUMERIC(38, 18) NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (budget_id, reservation_id)
);
CREATE INDEX reservation_holds_reservation ON reservation_holds (reservation_id);

-- Copied from rex_shared.security.RATE_LIMIT_DDL.
CREATE TABLE IF NOT EXISTS rate_limit_windows (
    key TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

-- Row-level security (rex_shared.db.rls_policy_sql): API transactions set app.org_id, the
-- consumer and the sweep set app.rls_bypass; a query that did neither sees no rows.
ALTER TABLE budgets ENABLE ROW LEVEL SECURITY;
ALTER TABLE budgets FORCE ROW LEVEL SECURITY;
CREATE POLICY budgets_tenant ON budgets
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

ALTER TABLE budget_periods ENABLE ROW LEVEL SECURITY;
ALTER TABLE budget_periods FORCE ROW LEVEL SECURITY;
CREATE POLICY budget_periods_tenant ON budget_periods
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

ALTER TABLE threshold_firings ENABLE ROW LEVEL SECURITY;
ALTER TABLE threshold_firings FORCE ROW LEVEL SECURITY;
CREATE POLICY threshold_firings_tenant ON threshold_firings
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

ALTER TABLE cost_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE cost_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY cost_alerts_tenant ON cost_alerts
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

ALTER TABLE period_closures ENABLE ROW LEVEL SECURITY;
ALTER TABLE period_closures FORCE ROW LEVEL SECURITY;
CREATE POLICY period_closures_tenant ON period_closures
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

ALTER TABLE reservations ENABLE ROW LEVEL SECURITY;
ALTER TABLE reservations FORCE ROW LEVEL SECURITY;
CREATE POLICY reservations_tenant ON reservations
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

ALTER TABLE reservation_holds ENABLE ROW LEVEL SECURITY;
ALTER TABLE reservation_holds FORCE ROW LEVEL SECURITY;
CREATE POLICY reservation_holds_tenant ON reservation_holds
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');
