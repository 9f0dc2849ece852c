"""Test doubles for the evaluator service."""
