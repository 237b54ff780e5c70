"""Statistics from a real store: every outcome category, suppression holding across the linked tables (the
LP attack of test_suppression on the published numbers), `everymetre publish`, and the public pages."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import update
from typer.testing import CliRunner

from everymetre.cli.main import app
from everymetre.payments.models import Payment
from everymetre.claims.models import Claim, Decision
from everymetre.transparency.statistics import CATEGORIES, compute
from everymetre.transparency.suppression import Table
from tests.payments.store_helpers import decided_claim
from tests.transparency.conftest import exported_batch
from tests.transparency.test_suppression import attack


def _store(db, users) -> dict[str, list[Claim]]:
    made: dict[str, list[Claim]] = {"approved": [], "rejected": [], "paid": [], "progress": [], "lviv": []}
    for i in range(24):
        made["approved"].append(decided_claim(db, users["commission"], amount=1_000_000 + i))
    for i in range(12):
        made["rejected"].append(decided_claim(db, users["commission"], amount=0, state="rejected", oblast="kyivska"))
    batch = exported_batch(db, users["payments"])
    for i in range(3):  # three paid claims: a small cell
        c = decided_claim(db, users["commission"], amount=2_000_000)
        db.add(Payment(end_to_end_id=f"E2E-{c.id}", purpose="repair", claim_id=c.id, amount_kopiykas=2_000_000,
                       creditor_name="x", creditor_iban="UA00", state="booked", batch_id=batch.id))
        made["paid"].append(c)
    for i in range(2):
        made["lviv"].append(decided_claim(db, users["commission"], amount=500_000, oblast="lvivska"))
    for i in range(11):
        made["progress"].append(decided_claim(db, users["commission"], amount=0, state="assessed"))
    db.flush()
    # in-progress claims have no decision; decision delays: half the approved ones took 45 days
    ids = [c.id for c in made["progress"]]
    db.execute(Decision.__table__.delete().where(Decision.claim_id.in_(ids)))
    db.execute(update(Claim).where(Claim.id.in_(ids)).values(decided_at=None, awarded_amount_kopiykas=None))
    late = [c.id for c in made["approved"][:12]]
    db.execute(update(Claim).where(Claim.id.in_(late)).values(submitted_at=datetime.now(UTC) - timedelta(days=45)))
    db.commit()
    return made


def test_categories_suppression_and_no_recovery(db, users) -> None:
    _store(db, users)
    s = compute(db, 10)
    ob = s.tables["claims_by_oblast"]
    assert ob.rows == ["kyivska", "lvivska", "kharkivska"]
    nat = dict(zip([*CATEGORIES, "total"], ob.values[-1], strict=True))
    assert nat["total"] == 52
    assert nat["paid"] is None  # 3 claims paid nationally: hidden, and so is a partner in the row
    assert sum(v is None for v in nat.values()) >= 2
    true_nat = {"in_progress": 11, "approved": 26, "paid": 3, "rejected": 12, "appealed": 0, "closed": 0}
    assert all(nat[c] in (None, true_nat[c]) for c in CATEGORIES)
    for t in s.tables.values():
        for row in t.values:
            assert all(v is None or v == 0 or v >= 10 for v in row) or t.unit == "kopiykas", (t.name, t.values)
    # the attack: rebuild the true tables and ask the LP what the published numbers allow
    truth = compute(db, 1)  # k=1 hides nothing: the true numbers
    linked = []
    for name in ("claims_by_oblast", "claims_by_month", "claims_by_kind"):
        true_grid = truth.tables[name].values
        cells = [list(r[:-1]) for r in true_grid[:-1]]
        t = Table(name, truth.tables[name].rows, list(CATEGORIES), cells)
        t.hidden = {(i, j) for i, row in enumerate(s.tables[name].values) for j, v in enumerate(row) if v is None}
        linked.append(t)
    results = attack(linked, shared_totals=True)
    assert results, "something must be hidden in this store"
    for cell, (lo, hi, v) in results.items():
        assert lo <= v - 1 + 1e-6 and hi >= v + 1 - 1e-6, f"{cell}: {v} narrowed to [{lo}, {hi}]"
    # money follows counts: every hidden count of approved / paid hides its money
    mo = s.tables["money_by_oblast"]
    for i, row in enumerate(ob.values):
        for j, c in enumerate(("approved", "paid")):
            if row[CATEGORIES.index(c)] is None:
                assert mo.values[i][j] is None
    # lvivska's 2 claims: its hromada is hidden, and not derivable (its oblast total is hidden too)
    hrom = s.tables["claims_by_hromada"]
    lviv = [v for g, v in zip(hrom.row_groups, hrom.values, strict=True) if g == "lvivska"]
    assert lviv == [[None]]
    assert ob.values[1][-1] is None
    # time to decision: kharkivska's paid cell (3) is hidden, so its number decided (a sum over it) is too
    kh = next(x for x in s.timeliness if x.group == "kharkivska")
    assert kh.decided is None and s.timeliness[-1].decided is None


def test_publish_writes_csv_parquet_and_a_datapackage(db, users, tmp_path: Path) -> None:
    _store(db, users)
    r = CliRunner().invoke(app, ["publish", "--out", str(tmp_path / "open"), "--k", "10"])
    assert r.exit_code == 0, r.output
    out = tmp_path / "open"
    pkg = json.loads((out / "datapackage.json").read_text())
    assert pkg["licenses"][0]["name"] == "CC-BY-4.0" and pkg["k"] == 10
    assert len(pkg["resources"]) == 18
    for res in pkg["resources"]:
        path = out / res["path"]
        assert path.exists(), res["path"]
        names = [f["name"] for f in res["schema"]["fields"]]
        assert all(f["type"] in ("string", "integer", "number") for f in res["schema"]["fields"])
        assert all("unit" in f for f in res["schema"]["fields"] if f["type"] != "string")
        if res["format"] == "csv":
            with path.open() as fh:
                header = next(csv.reader(fh))
            assert header == names
        else:
            df = pl.read_parquet(path)
            assert df.columns == names
            back = pl.read_csv(out / res["path"].replace(".parquet", ".csv"), schema=df.schema)
            assert back.equals(df)
    rows = list(csv.DictReader((out / "claims_by_oblast.csv").open()))
    assert rows[-1]["oblast"] == "total" and rows[-1]["total"] == "52" and rows[-1]["paid"] == ""
    assert "## claims_by_oblast.csv" in (out / "data-dictionary.md").read_text()
    r = CliRunner().invoke(app, ["publish", "--out", str(out / "datapackage.json")])
    assert r.exit_code == 2 and "is a file" in r.output


def test_public_pages_without_sign_in(db, users, client) -> None:
    made = _store(db, users)
    from everymetre.config import get_settings
    from everymetre.transparency import log

    log.sync(db, get_settings())
    page = client.get("/public/statistics")
    assert page.status_code == 200
    html = page.text
    assert "Уся країна" in html and "<svg" in html and "Харківська" in html
    assert "kharkivska" not in html.replace("/public/data/", "")  # no codes on the Ukrainian page
    assert "приховано: надто мало людей" in html
    client.cookies.set("em_lang", "en")
    assert "Whole country" in client.get("/public/statistics").text
    client.cookies.set("em_lang", "uk")
    assert client.get("/public").status_code == 200
    csv_text = client.get("/public/data/claims_by_oblast.csv").text
    assert csv_text.splitlines()[0] == "oblast,in_progress,approved,paid,rejected,appealed,closed,total"
    assert client.get("/public/data/claims_by_oblast.parquet").content[:4] == b"PAR1"
    assert client.get("/public/data/datapackage.json").json()["name"] == "everymetre-statistics"
    assert client.get("/public/data/secret.csv").status_code == 404
    ref = made["approved"][0].reference
    logpage = client.get("/public/log", params={"reference": ref.lower()})
    assert logpage.status_code == 200 and "10 000,00 грн" in logpage.text.replace("\u00a0", " ")
    index = log.leaves_for(db, ref)[0]["index"]
    proof = client.get(f"/public/log/proof/{index}.json").json()
    assert proof["reference"] == ref and proof["tree_head"]["tree_size"] == 52 - 11 + 1  # decisions and the batch
    assert "ще немає записів для" not in logpage.text
    assert "EM-2026-0000042" in client.get("/public/log", params={"reference": "nonsense"}).text
    assert client.get("/public/log/proof/999999.json").status_code == 404


def test_time_to_decision_reveals_no_hidden_count(db, users) -> None:
    """The number decided in an oblast is the sum of four of its cells: it shows only where they all do, and
    a share within 30 days only where both its parts are 0 or at least k."""
    claims = [decided_claim(db, users["commission"], amount=1_000_000 + i) for i in range(24)]
    claims += [decided_claim(db, users["commission"], amount=0, state="rejected", oblast="kyivska") for _ in range(12)]
    claims += [decided_claim(db, users["commission"], amount=0, state="rejected", oblast="lvivska") for _ in range(12)]
    late = [c.id for c in claims[:12]] + [c.id for c in claims[-3:]]  # 12 of 24 in kharkivska, 3 of 12 in lvivska
    db.execute(update(Claim).where(Claim.id.in_(late)).values(submitted_at=datetime.now(UTC) - timedelta(days=45)))
    db.commit()
    s = compute(db, 10)
    got = {x.group: (x.decided, x.median_days is not None, x.within_30_share) for x in s.timeliness}
    assert got["kharkivska"] == (24, True, 0.5) and got["kyivska"] == (12, True, 1.0)
    assert got["lvivska"] == (12, True, None)  # 3 late of 12: the share would show 3 people
    assert got["total"] == (48, True, None)  # national minus the two shown would give lvivska's
    ob = s.tables["claims_by_oblast"]
    for x in s.timeliness:
        row = ob.values[-1] if x.group == "total" else ob.values[ob.rows.index(x.group)]
        four = [row[CATEGORIES.index(c)] for c in ("approved", "paid", "rejected", "appealed")]
        if x.decided is not None:
            assert None not in four and x.decided == sum(four)
        if x.within_30_share is not None:
            within = round(x.within_30_share * x.decided)
            assert within in (0, x.decided) or (within >= 10 and x.decided - within >= 10)
    shown = [x for x in s.timeliness if x.group != "total" and x.within_30_share is None]
    national = s.timeliness[-1]
    assert not (len(shown) == 1 and national.within_30_share is not None)


def test_public_statistics_are_computed_once_per_cache_period(db, users, client) -> None:
    for _ in range(10):
        decided_claim(db, users["commission"], amount=1_000_000)
    first = client.get("/public/data/claims_by_oblast.csv").text
    assert first.splitlines()[-1].endswith(",10")
    decided_claim(db, users["commission"], amount=1_000_000)
    assert client.get("/public/data/claims_by_oblast.csv").text == first  # within the period: the same numbers
    client.app.state.public_statistics = None  # the period is over
    assert client.get("/public/data/claims_by_oblast.csv").text.splitlines()[-1].endswith(",11")
