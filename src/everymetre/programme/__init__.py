"""Programme settings an administrator keeps in the store (the evidence rules, ...), over config.py's defaults."""
