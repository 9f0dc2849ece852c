"""Test support: infrastructure fixtures and helpers shared by every service's tests."""
