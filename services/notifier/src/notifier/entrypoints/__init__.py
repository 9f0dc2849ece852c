"""Thin entry points: HTTP API, Kafka consumer, delivery worker."""
