"""A local LLM provider speaking the OpenAI and Anthropic wire formats, for tests and demos."""
