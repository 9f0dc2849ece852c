-- Active holds per budget kept as a running total (budget_holds), so that neither the check
-- nor a reservation sums every live hold of a busy budget: the total minus the few holds that
-- expired but are not yet swept is what the budget holds right now.
--
-- Invariant: budget_holds.held_amount = sum(reservation_holds.held_amount) per budget. Every
-- statement that inserts, changes or deletes holds moves the totals in the same transaction,
-- through add_to_hold_totals: one statement per transaction, rows taken in budget order, and
-- always the last lock a transaction takes, so it adds no lock-order cycle.

CREATE TABLE budget_holds (
    budget_id UUID PRIMARY KEY REFERENCES budgets (id),
    org_id TEXT NOT NULL,
    held_amount NUMERIC(38, 18) NOT NULL
);
ALTER TABLE budget_holds ENABLE ROW LEVEL SECURITY;
ALTER TABLE budget_holds FORCE ROW LEVEL SECURITY;
CREATE POLICY budget_holds_tenant ON budget_holds
    USING (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on')
    WITH CHECK (org_id = current_setting('app.org_id', true)
           OR current_setting('app.rls_bypass', true) = 'on');

-- The holds that expired but are still there (the sweep removes them), by budget.
CREATE INDEX reservation_holds_budget_expiry ON reservation_holds (budget_id, expires_at);

-- The totals of the holds that exist now (the migration's own transaction sees every org).
SELECT set_config('app.rls_bypass', 'on', true);
INSERT INTO budget_holds (budget_id, org_id, held_amount)
SELECT budget_id, min(org_id), sum(held_amount) FROM reservation_holds GROUP BY budget_id;
SELECT set_config('app.rls_bypass', '', true);

-- Add `p_amounts` to the totals of `p_budgets` (a budget may repeat), in budget order.
CREATE FUNCTION add_to_hold_totals(p_org TEXT, p_budgets UUID[], p_amounts NUMERIC[])
RETURNS void
LANGUAGE sql AS $$
    INSERT INTO budget_holds (budget_id, org_id, held_amount)
    SELECT d.b, p_org, sum(d.a) FROM unnest(p_budgets, p_amounts) AS d(b, a)
    GROUP BY d.b ORDER BY d.b
    ON CONFLICT (budget_id)
    DO UPDATE SET held_amount = budget_holds.held_amount + EXCLUDED.held_amount;
$$;

-- What `p_budget`'s holds amount to at `p_now`: the total less the expired, unswept ones.
CREATE FUNCTION unexpired_holds(p_budget UUID, p_now TIMESTAMPTZ)
RETURNS NUMERIC
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT t.held_amount FROM budget_holds t WHERE t.budget_id = p_budget), 0)
         - coalesce((SELECT sum(rh.held_amount) FROM reservation_holds rh
                     WHERE rh.budget_id = p_budget AND rh.expires_at <= p_now), 0);
$$;

-- The pre-flight functions of 0003, now reading a budget's holds from its total.
CREATE OR REPLACE FUNCTION preflight_standings(p_org TEXT, p_project TEXT, p_user TEXT, p_now TIMESTAMPTZ)
RETURNS TABLE (
    id UUID, org_id TEXT, name TEXT, type TEXT, entity_id TEXT, limit_amount NUMERIC,
    period TEXT, timezone TEXT, thresholds NUMERIC[], is_hard_limit BOOLEAN, filters JSONB,
    created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ, archived_at TIMESTAMPTZ,
    threshold_amounts NUMERIC[], p_start TIMESTAMPTZ, p_end TIMESTAMPTZ, p_usage NUMERIC,
    held NUMERIC
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    PERFORM set_config('app.org_id', p_org, true);
    RETURN QUERY
    SELECT b.id, b.org_id, b.name, b.type, b.entity_id, b.limit_amount, b.period, b.timezone,
           b.thresholds, b.is_hard_limit, b.filters, b.created_at, b.updated_at, b.archived_at,
           b.threshold_amounts, p.period_start, p.period_end, p.usage_amount, h.held
    FROM budgets b
    LEFT JOIN LATERAL (
        SELECT bp.period_start, bp.period_end, bp.usage_amount FROM budget_periods bp
        WHERE bp.budget_id = b.id AND bp.period_start <= p_now
        ORDER BY bp.period_start DESC LIMIT 1
    ) p ON true
    LEFT JOIN LATERAL (SELECT unexpired_holds(b.id, p_now) AS held) h ON true
    WHERE b.org_id = p_org AND b.archived_at IS NULL
      AND ((b.type = 'organization' AND b.entity_id = p_org)
        OR (b.type = 'project' AND b.entity_id = p_project)
        OR (b.type = 'user' AND b.entity_id = p_user))
    ORDER BY b.id;
END
$$;


CREATE OR REPLACE FUNCTION preflight_reserve(
    p_org TEXT, p_evaluation UUID, p_now TIMESTAMPTZ, p_estimate NUMERIC,
    p_budgets UUID[], p_starts TIMESTAMPTZ[], p_ends TIMESTAMPTZ[], p_limits NUMERIC[],
    p_hard BOOLEAN[], p_id UUID, p_project TEXT, p_user TEXT, p_created_by TEXT,
    p_expires TIMESTAMPTZ
)
RETURNS TABLE (
    outcome TEXT, usages NUMERIC[], helds NUMERIC[],
    id UUID, org_id TEXT, evaluation_id UUID, project_id TEXT, user_id TEXT,
    estimated_cost NUMERIC, consumed_amount NUMERIC, held_amount NUMERIC, status TEXT,
    budget_ids UUID[], created_by TEXT, created_at TIMESTAMPTZ, expires_at TIMESTAMPTZ,
    ended_at TIMESTAMPTZ, released_amount NUMERIC
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v_created UUID[];
    v_created_starts TIMESTAMPTZ[];
    v_usages NUMERIC[];
    v_helds NUMERIC[];
    v_existing reservations%ROWTYPE;
    v_over BOOLEAN;
    v_gone_budgets UUID[] := '{}';
    v_gone_amounts NUMERIC[] := '{}';
BEGIN
    PERFORM set_config('app.org_id', p_org, true);
    -- ON CONFLICT DO UPDATE locks every conflicting row even when its WHERE is false, and
    -- RETURNING lists only the rows inserted here.
    WITH made AS (
        INSERT INTO budget_periods (org_id, budget_id, period_start, period_end)
        SELECT p_org, k.b, k.s, k.e FROM unnest(p_budgets, p_starts, p_ends) AS k(b, s, e)
        ORDER BY 2, 3
        ON CONFLICT (budget_id, period_start)
        DO UPDATE SET usage_amount = budget_periods.usage_amount WHERE false
        RETURNING budget_id, period_start
    ) SELECT coalesce(array_agg(made.budget_id), '{}'),
             coalesce(array_agg(made.period_start), '{}')
      INTO v_created, v_created_starts FROM made;

    SELECT coalesce(array_agg(coalesce(bp.usage_amount, 0) ORDER BY k.n), '{}'),
           coalesce(array_agg(coalesce(h.held, 0) ORDER BY k.n), '{}')
    INTO v_usages, v_helds
    FROM unnest(p_budgets, p_starts) WITH ORDINALITY AS k(b, s, n)
    LEFT JOIN budget_periods bp ON bp.budget_id = k.b AND bp.period_start = k.s
    LEFT JOIN LATERAL (SELECT unexpired_holds(k.b, p_now) AS held) h ON true;

    SELECT * INTO v_existing FROM reservations r
    WHERE r.org_id = p_org AND r.evaluation_id = p_evaluation AND r.status = 'active'
    FOR UPDATE;
    IF FOUND THEN
        IF v_existing.expires_at > p_now THEN  -- the same evaluation asking again
            RETURN QUERY SELECT 'existing'::TEXT, v_usages, v_helds, v_existing.id,
                v_existing.org_id, v_existing.evaluation_id, v_existing.project_id,
                v_existing.user_id, v_existing.estimated_cost, v_existing.consumed_amount,
                v_existing.held_amount, v_existing.status, v_existing.budget_ids,
                v_existing.created_by, v_existing.created_at, v_existing.expires_at,
                v_existing.ended_at, v_existing.released_amount;
            RETURN;
        END IF;
        -- Overdue, not yet swept: it holds nothing any more (its holds count for nothing).
        UPDATE reservations r SET status = 'expired', released_amount = r.held_amount,
            held_amount = 0, ended_at = now()
        WHERE r.id = v_existing.id;
        WITH gone AS (
            DELETE FROM reservation_holds rh WHERE rh.reservation_id = v_existing.id
            RETURNING rh.budget_id, rh.held_amount
        ) SELECT coalesce(array_agg(gone.budget_id), '{}'),
                 coalesce(array_agg(-gone.held_amount), '{}')
          INTO v_gone_budgets, v_gone_amounts FROM gone;
    END IF;

    SELECT bool_or(x.hard AND x.usage + x.held + p_estimate > x.lim) INTO v_over
    FROM unnest(p_hard, v_usages, v_helds, p_limits) AS x(hard, usage, held, lim);
    IF coalesce(v_over, false) THEN
        DELETE FROM budget_periods bp
        USING unnest(v_created, v_created_starts) AS c(b, s)
        WHERE bp.budget_id = c.b AND bp.period_start = c.s;
        PERFORM add_to_hold_totals(p_org, v_gone_budgets, v_gone_amounts);
        RETURN QUERY SELECT 'exceeded'::TEXT, v_usages, v_helds, NULL::UUID, NULL::TEXT,
            NULL::UUID, NULL::TEXT, NULL::TEXT, NULL::NUMERIC, NULL::NUMERIC, NULL::NUMERIC,
            NULL::TEXT, NULL::UUID[], NULL::TEXT, NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ,
            NULL::TIMESTAMPTZ, NULL::NUMERIC;
        RETURN;
    END IF;

    RETURN QUERY
    WITH made AS (
        INSERT INTO reservations (id, org_id, evaluation_id, project_id, user_id,
            estimated_cost, held_amount, status, budget_ids, created_by, created_at,
            expires_at)
        VALUES (p_id, p_org, p_evaluation, p_project, p_user, p_estimate, p_estimate,
            'active', p_budgets, p_created_by, p_now, p_expires)
        RETURNING *
    ), holds AS (
        INSERT INTO reservation_holds (budget_id, reservation_id, org_id, held_amount,
            expires_at)
        SELECT b, p_id, p_org, p_estimate, p_expires FROM unnest(p_budgets) AS b
    )
    SELECT 'created'::TEXT, v_usages, v_helds, m.id, m.org_id, m.evaluation_id,
        m.project_id, m.user_id, m.estimated_cost, m.consumed_amount, m.held_amount,
        m.status, m.budget_ids, m.created_by, m.created_at, m.expires_at, m.ended_at,
        m.released_amount
    FROM made m;
    -- The totals change once, in one ordered statement, the last lock taken: the overdue
    -- hold's release and this one.
    PERFORM add_to_hold_totals(
        p_org, v_gone_budgets || p_budgets,
        v_gone_amounts || array_fill(p_estimate, ARRAY[cardinality(p_budgets)])
    );
END
$$;

