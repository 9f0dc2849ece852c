"""The ledger's use cases, HTTP-free: ingest, repricing, prices, costs and reports."""
