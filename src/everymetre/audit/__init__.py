"""The tamper-evident audit trail: `chain.py` hashes an event (the only place that knows the bytes),
`record.py` appends (one event, many, or many chains in bulk), `verify.py` recomputes chains and checks
published checkpoints."""
