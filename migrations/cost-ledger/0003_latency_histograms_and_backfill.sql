-- Latency histograms move into evaluation_metric_costs (one upsert per metric and batch rather
-- than one per bucket), and rows recorded before 0002 are folded into the daily rollups.
-- Migrations run as the owning role, which FORCEd row-level security binds too: read all orgs.
SELECT set_config('app.rls_bypass', 'on', true);

-- latency_hist is {"b": calls}: bucket b holds the calls with
-- floor(ln(max(latency_ms, 1)) / ln(1.05)) = b, i.e. latency in [1.05^b, 1.05^(b+1)) ms; a p95
-- read from it is at most 5% above the true value and never above max_latency_ms.
DROP TABLE IF EXISTS evaluation_metric_latency;
ALTER TABLE evaluation_metric_costs ADD COLUMN IF NOT EXISTS latency_hist JSONB NOT NULL DEFAULT '{}';
ALTER TABLE evaluation_metric_costs ADD COLUMN IF NOT EXISTS max_latency_ms INTEGER;
UPDATE evaluation_metric_costs m SET latency_hist = h.hist, max_latency_ms = h.largest
FROM (SELECT evaluation_id, metric, jsonb_object_agg(b, n) AS hist, max(largest) AS largest
      FROM (SELECT evaluation_id, coalesce(metric, '') AS metric,
                   least(floor(ln(greatest(latency_ms, 1)) / ln(1.05)), 400)::int AS b,
                   count(*) AS n, max(latency_ms) AS largest
            FROM ledger_entries WHERE evaluation_id IS NOT NULL AND seq = 0
            GROUP BY 1, 2, 3) per_bucket
      GROUP BY 1, 2) h
WHERE m.evaluation_id = h.evaluation_id AND m.metric = h.metric;

-- Calls recorded before 0002 created daily_costs (all charges) go into the rollups once.
INSERT INTO daily_costs (org_id, day, project_id, user_id, provider, model, metric, calls,
    failed_calls, unpriced_calls,
    input_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens,
    reasoning_tokens, input_audio_tokens, output_audio_tokens, web_search_requests,
    cost_input, cost_cache_read, cost_cache_write, cost_output, cost_input_audio,
    cost_output_audio, cost_web_search, total_cost)
SELECT org_id, (occurred_at AT TIME ZONE 'UTC')::date, project_id, user_id, provider, model,
    coalesce(metric, ''), count(*), count(*) FILTER (WHERE call_status = 'failed'),
    count(*) FILTER (WHERE status = 'unpriced'),
    sum(input_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(cache_write_1h_tokens),
    sum(output_tokens), sum(reasoning_tokens), sum(input_audio_tokens), sum(output_audio_tokens),
    sum(web_search_requests), sum(cost_input), sum(cost_cache_read), sum(cost_cache_write),
    sum(cost_output), sum(cost_input_audio), sum(cost_output_audio), sum(cost_web_search),
    sum(total_cost)
FROM ledger_entries
WHERE recorded_at < (SELECT applied_at FROM schema_migrations WHERE version = '0002')
GROUP BY 1, 2, 3, 4, 5, 6, 7
ON CONFLICT (org_id, day, project_id, user_id, provider, model, metric) DO UPDATE SET
    calls = daily_costs.calls + EXCLUDED.calls,
    failed_calls = daily_costs.failed_calls + EXCLUDED.failed_calls,
    unpriced_calls = daily_costs.unpriced_calls + EXCLUDED.unpriced_calls,
    input_tokens = daily_costs.input_tokens + EXCLUDED.input_tokens,
    cache_read_tokens = daily_costs.cache_read_tokens + EXCLUDED.cache_read_tokens,
    cache_write_tokens = daily_costs.cache_write_tokens + EXCLUDED.cache_write_tokens,
    cache_write_1h_tokens = daily_costs.cache_write_1h_tokens + EXCLUDED.cache_write_1h_tokens,
    output_tokens = daily_costs.output_tokens + EXCLUDED.output_tokens,
    reasoning_tokens = daily_costs.reasoning_tokens + EXCLUDED.reasoning_tokens,
    input_audio_tokens = daily_costs.input_audio_tokens + EXCLUDED.input_audio_tokens,
    output_audio_tokens = daily_costs.output_audio_tokens + EXCLUDED.output_audio_tokens,
    web_search_requests = daily_costs.web_search_requests + EXCLUDED.web_search_requests,
    cost_input = daily_costs.cost_input + EXCLUDED.cost_input,
    cost_cache_read = daily_costs.cost_cache_read + EXCLUDED.cost_cache_read,
    cost_cache_write = daily_costs.cost_cache_write + EXCLUDED.cost_cache_write,
    cost_output = daily_costs.cost_output + EXCLUDED.cost_output,
    cost_input_audio = daily_costs.cost_input_audio + EXCLUDED.cost_input_audio,
    cost_output_audio = daily_costs.cost_output_audio + EXCLUDED.cost_output_audio,
    cost_web_search = daily_costs.cost_web_search + EXCLUDED.cost_web_search,
    total_cost = daily_costs.total_cost + EXCLUDED.total_cost;
