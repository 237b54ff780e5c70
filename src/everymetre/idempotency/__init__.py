"""Idempotency-Key on the API's POSTs: a retried request returns the first result and creates nothing."""
