"""Pages for citizens and staff (server-rendered, Ukrainian and English), mounted beside the JSON API."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Mount the pages and static assets on the application."""
