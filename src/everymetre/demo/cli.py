"""`everymetre demo`: synthetic claims, demo staff accounts and their audit trails.

Demo accounts share a published password, so demo data goes only into an empty database (or one holding only
demo data) and only when asked: `--if-empty` (what `make run` calls) adds nothing, accounts included, to a
database that holds anything else, and a plain `demo` refuses such a database unless told
`--into-database-with-data`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from everymetre.cli.common import engine, fail, out, progress, require_schema


def demo(claims: Annotated[int, typer.Option("--claims", min=0, help="How many synthetic claims to write")] = 1000,
         seed: Annotated[int, typer.Option(help="Random seed (same seed, same data)")] = 2022,
         if_empty: Annotated[bool, typer.Option("--if-empty", help="Do nothing if the database has claims or any account that is not a demo account")] = False,
         with_fraud: Annotated[bool, typer.Option("--with-fraud", help="Imported claims with injected duplicates and fraud patterns; ground truth to DATA_DIR/demo-truth.parquet")] = False,
         into_data: Annotated[bool, typer.Option("--into-database-with-data", help="Write demo data (and the demo accounts, whose password is published) even though the database holds other accounts or claims; never on a real programme's database")] = False) -> None:
    """Write realistic synthetic claims, demo staff accounts and their audit trails (into an empty database)."""
    from everymetre.demo.generate import DEMO_PASSWORD, DEMO_STAFF, demo_accounts, generate, has_claims, real_data

    eng = engine()
    require_schema(eng)
    other = real_data(eng)
    if if_empty and (other or has_claims(eng)):
        out.print(f"the database already holds {other or 'claims'}; demo data not loaded", highlight=False)
        if not demo_accounts(eng):
            return
    elif other and not into_data:
        fail(f"the database holds {other}: demo data (and demo accounts with a published password) go only into "
             "an empty database; use a new one, or --into-database-with-data for a throw-away copy")
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
