"""Test kit: the pytest plugin, fixtures, sinks and harnesses shared by tests and benchmarks."""
