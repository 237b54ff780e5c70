"""The Alembic migrations build exactly the schema the models describe, on both stores, and can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from everymetre.store.db import make_engine
from everymetre.store.migrate import downgrade, upgrade
from everymetre.store.schema import metadata


def test_migrated_schema_matches_models(engine):
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_downgrade_to_base_and_up_again(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(eng)
    downgrade(eng, "base")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table' AND name != 'alembic_version'").all() == []
    upgrade(eng)
