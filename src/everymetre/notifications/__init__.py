"""Keeping people informed: an outbox written in the same transaction as the change it tells about, a worker
that delivers it (e-mail, SMS, the in-app inbox) and runs the scheduled jobs, and the texts in both languages."""
