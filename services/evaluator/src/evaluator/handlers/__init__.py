"""The evaluator's use cases, HTTP-free: evaluations, estimates, runs, datasets, provider keys."""
