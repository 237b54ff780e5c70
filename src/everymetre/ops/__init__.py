"""Running everymetre in production: production-mode checks (`checks`), liveness and readiness, metrics,
structured logs, the startup gate for `serve` and `worker` (`startup`), `doctor` and the restore drill."""
