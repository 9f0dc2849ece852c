"""Wiring tier: in-memory fakes instead of PostgreSQL and Kafka."""

import sys
from pathlib import Path

# `budget_fakes` sits next to the tests; pytest's importlib mode does not add this folder.
sys.path.insert(0, str(Path(__file__).parent))
