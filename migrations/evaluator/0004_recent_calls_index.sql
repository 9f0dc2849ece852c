-- The learned input ratio reads a model's most recent calls across metrics: an index in that
-- order keeps the read at a few hundred index entries however many calls are stored.
CREATE INDEX llm_calls_model_recent ON llm_calls (requested_model, created_at DESC)
    WHERE status = 'succeeded' AND expected_input_tokens > 0;
