"""Service health for load balancers and monitors."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from everymetre.api.deps import SessionDep

router = APIRouter(prefix="/api/v1")


class Health(BaseModel):
    status: str
    database: str


@router.get("/health", response_model=Health, tags=["service"])
def health(session: SessionDep) -> Health:
    session.execute(text("SELECT 1"))
    return Health(status="ok", database=session.get_bind().dialect.name)
