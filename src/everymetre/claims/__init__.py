"""Claims: the lifecycle move table (`lifecycle.py`), reading with the caller's rights (`access.py`), the
actions that file and move claims (`actions.py`), drafts, evidence, assessment with the rules, queues, the API
(`api.py`), pages (`pages/`) and commands (`cli.py`)."""
