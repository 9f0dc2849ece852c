-- Evaluator schema: evaluations, their rows, per-metric results, judge calls, and the outbox.
-- Applied with search_path = evaluator by `python -m evaluator migrate`.

CREATE TABLE evaluations (
    id UUID PRIMARY KEY,
    org_id TEXT NOT NULL,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT,
    status TEXT NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    metrics TEXT[] NOT NULL CHECK (cardinality(metrics) > 0),
    judge_provider TEXT NOT NULL,
    judge_model TEXT NOT NULL,
    rows_total INTEGER NOT NULL CHECK (rows_total > 0),
    rows_done INTEGER NOT NULL DEFAULT 0 CHECK (rows_done BETWEEN 0 AND rows_total),
    scores JSONB NOT NULL DEFAULT '{}'::jsonb,
    error TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at TIMESTAMPTZ,
    completed_at TIMESTAMPTZ
);
-- The list endpoint pages an org's evaluations newest first by (created_at, id).
CREATE INDEX evaluations_org_created ON evaluations (org_id, created_at DESC, id DESC);
-- Unfinished runs, for resuming them after a restart.
CREATE INDEX evaluations_unfinished ON evaluations (created_at)
    WHERE status IN ('queued', 'running');

CREATE TABLE evaluation_rows (
    evaluation_id UUID NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
    row_index INTEGER NOT NULL CHECK (row_index >= 0),
    question TEXT NOT NULL,
    contexts JSONB NOT NULL,
    answer TEXT NOT NULL,
    ground_truth TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    PRIMARY KEY (evaluation_id, row_index)
);

CREATE TABLE metric_results (
    evaluation_id UUID NOT NULL,
    row_index INTEGER NOT NULL,
    metric TEXT NOT NULL,
    score NUMERIC CHECK (score BETWEEN 0 AND 1),
    reasoning JSONB NOT NULL DEFAULT '{}'::jsonb,
    status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    error TEXT,
    completed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (evaluation_id, row_index, metric),
    FOREIGN KEY (evaluation_id, row_index)
        REFERENCES evaluation_rows (evaluation_id, row_index) ON DELETE CASCADE
);

-- One row per judge call (its llm.call.completed event goes to the outbox in the same
-- transaction). step/attempt/output let a resumed run reuse finished steps; the token counts
-- feed output-size predictions per metric and model.
CREATE TABLE llm_calls (
    call_id UUID PRIMARY KEY,
    evaluation_id UUID NOT NULL REFERENCES evaluations (id) ON DELETE CASCADE,
    row_index INTEGER NOT NULL,
    metric TEXT NOT NULL,
    step TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed')),
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    output TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX llm_calls_evaluation ON llm_calls (evaluation_id, row_index, metric);

-- Copied from rex_shared.outbox.OUTBOX_DDL (a unit test keeps the two identical).
-- rex:include outbox
