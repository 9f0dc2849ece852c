"""Test doubles and harnesses for the budget service."""
