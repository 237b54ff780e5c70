"""`everymetre demo`: synthetic claims, demo staff accounts and their audit trails."""

from __future__ import annotations

from typing import Annotated

import typer

from everymetre.cli.common import engine, out, progress, require_schema


def demo(claims: Annotated[int, typer.Option("--claims", min=0, help="How many synthetic claims to write")] = 1000,
         seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 2022,
         if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if the database has claims")] = False,
         with_fraud: Annotated[bool, typer.Option("--with-fraud", help="Imported claims with injected duplicates and fraud patterns; ground truth to DATA_DIR/demo-truth.parquet")] = False) -> None:
    """Write realistic synthetic claims, demo staff accounts and their audit trails."""
    from everymetre.demo.generate import DEMO_PASSWORD, DEMO_STAFF, ensure_demo_users, generate, has_claims

    eng = engine()
    require_schema(eng)
    if if_empty and has_claims(eng):
        out.print("the database already has claims; demo data not loaded")
        ensure_demo_users(eng)
    elif with_fraud:
        from everymetre.linkage.cli import demo_with_fraud
        return demo_with_fraud(eng, claims, seed)
    else:
        with progress() as bar:
            task = bar.add_task("writing claims", total=claims)
            generate(eng, claims, seed=seed, on_progress=lambda n: bar.advance(task, n))
        out.print(f"wrote {claims:,} claims")
    out.print(f"Demo sign-ins (password [bold]{DEMO_PASSWORD}[/]):")
    for email, role, _ in DEMO_STAFF:
        out.print(f"  {role:<10} {email}")
