-- What a call's prompt was expected to weigh (tokens counted locally, before any provider
-- factor), to learn each model's actual/expected input ratio: it calibrates the Anthropic
-- approximation (no public tokenizer) from real usage.
ALTER TABLE llm_calls ADD COLUMN expected_input_tokens INTEGER NOT NULL DEFAULT 0;
