"""The public log end to end: sync from the store, signed heads, the public API, and `everymetre log verify`
over a real HTTP server, accepting the genuine log and naming a changed decision, a dropped leaf and a fork."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import delete, select, update
from typer.testing import CliRunner

from everymetre.cli.main import app
from everymetre.config import get_settings
from everymetre.claims.models import Decision
from everymetre.transparency import log, merkle
from everymetre.transparency.models import LogLeaf, TreeHead
from everymetre.transparency.signing import log_key, sign, verify_head
from tests.payments.store_helpers import decided_claim
from tests.transparency.conftest import exported_batch


def _store(db, users, n: int = 4) -> list:
    claims = [decided_claim(db, users["commission"], amount=10_000_000 + i) for i in range(n)]
    exported_batch(db, users["payments"])
    return claims


def verify(url: str, *args: str):
    return CliRunner().invoke(app, ["log", "verify", "--url", url, *args])


def test_sync_appends_once_and_the_head_is_reproducible_from_the_store(db, users) -> None:
    claims = _store(db, users)
    settings = get_settings()
    first = log.sync(db, settings)
    assert first.appended == 5 and first.tree_size == 5
    again = log.sync(db, settings)
    assert again.appended == 0 and again.head == first.head  # nothing new: the same head, not a new one
    # reproducible: rebuild every leaf from the store rows, hash them in log order, re-sign with the time
    entries = log.store_entries(db)
    assert {e.reference for e in entries} >= {c.reference for c in claims}
    order = {(r.kind, r.ref_id): r.index for r in db.scalars(select(LogLeaf))}
    rebuilt = [merkle.leaf_hash(e.leaf.encode()) for e in sorted(entries, key=lambda e: order[(e.kind, e.ref_id)])]
    root = merkle.root_of(rebuilt).hex()
    assert root == first.head.root_hash
    resigned = sign(log_key(settings), settings.log_origin, 5, root, first.head.timestamp_ms)
    assert resigned == first.head  # Ed25519 is deterministic: the same signature, byte for byte
    verify_head(log_key(settings).public_key(), first.head)
    # a later decision makes a larger head, consistent with the first
    decided_claim(db, users["commission"], amount=5)
    later = log.sync(db, settings)
    assert later.tree_size == 6 and later.head.timestamp_ms > first.head.timestamp_ms
    t = log.tree(db)
    merkle.verify_consistency(5, 6, bytes.fromhex(first.head.root_hash), bytes.fromhex(later.head.root_hash),
                              t.consistency_proof(5, 6))


def test_public_api_serves_heads_proofs_and_leaves(db, users, client) -> None:
    claims = _store(db, users, 3)
    log.sync(db, get_settings())
    head = client.get("/api/v1/public/log/tree-head").json()
    assert head["tree_size"] == 4 and head["signed_text"].startswith("everymetre/log\n4\n")
    key = client.get("/api/v1/public/log/key").json()
    assert key["algorithm"] == "Ed25519" and head["key_id"] == key["key_id"]
    leaves = client.get("/api/v1/public/log/leaves", params={"reference": claims[1].reference.lower()}).json()
    assert len(leaves) == 1 and json.loads(leaves[0]["leaf"])["amount_kopiykas"] == 10_000_001
    item = leaves[0]
    proof = client.get("/api/v1/public/log/proof/inclusion", params={"index": item["index"], "tree_size": 4}).json()
    merkle.verify_inclusion(item["index"], 4, merkle.leaf_hash(item["leaf"].encode()),
                            [bytes.fromhex(p) for p in proof["audit_path"]], bytes.fromhex(head["root_hash"]))
    assert client.get(f"/api/v1/public/log/leaves/{item['index']}").json() == item
    assert client.get("/api/v1/public/log/proof/consistency", params={"first": 2, "second": 4}).json()["proof"]
    # errors are problems, not 500s
    r = client.get("/api/v1/public/log/proof/inclusion", params={"index": 0, "tree_size": 99})
    assert r.status_code == 422 and "holds 4 leaves" in r.json()["detail"]
    assert client.get("/api/v1/public/log/proof/inclusion", params={"index": 4, "tree_size": 4}).status_code == 422
    assert client.get("/api/v1/public/log/proof/consistency", params={"first": 3, "second": 2}).status_code == 422
    assert client.get("/api/v1/public/log/leaves/99").status_code == 404
    assert client.get("/api/v1/public/log/tree-heads/3").status_code == 404
    assert client.get("/api/v1/public/log/proof/inclusion", params={"index": -1, "tree_size": 2}).status_code == 422
    assert client.get(f"/api/v1/public/log/leaves/{2**64}").status_code == 422
    assert client.get(f"/api/v1/public/log/tree-heads/{2**64}").status_code == 422


def test_verify_accepts_the_genuine_log_and_names_a_changed_decision(db, users, live) -> None:
    claims = _store(db, users)
    log.sync(db, get_settings())
    decided_claim(db, users["commission"], amount=7)
    log.sync(db, get_settings())  # two heads: consistency from the first is checked
    r = verify(live)
    assert r.exit_code == 0, r.output
    assert "verified: tree head of size 6" in r.output and "6 decisions and batches placed" in r.output
    assert verify(live, "--leaf", claims[0].reference).exit_code == 0
    # someone edits a logged decision's amount in the database
    db.execute(update(Decision).where(Decision.claim_id == claims[2].id).values(amount_kopiykas=99_999_999))
    db.commit()
    r = verify(live)
    assert r.exit_code == 1
    assert f"of {claims[2].reference}: differs from its leaf" in r.output
    assert "do not give the signed root" in r.output


def test_verify_names_a_dropped_leaf(db, users, live) -> None:
    _store(db, users)
    log.sync(db, get_settings())
    db.execute(delete(LogLeaf).where(LogLeaf.index == 2))
    db.commit()
    r = verify(live)
    assert r.exit_code == 1
    assert "not in the signed log of size 5" in r.output
    assert "holds 4 leaves" in r.output  # the server can no longer prove anything against its own head


def test_verify_names_a_forked_tree_head(db, users, live, tmp_path: Path) -> None:
    settings = get_settings()
    _store(db, users, 2)
    first = log.sync(db, settings)
    # a journalist saved the head of size 3; the operator then rewrites history: swaps a decision's leaf and
    # re-signs every head with the log's own key (a fork: two signed views of the same log)
    saved = tmp_path / "head.json"
    saved.write_text(json.dumps(first.head.as_dict()))
    row = db.get(LogLeaf, 0)
    row.leaf = row.leaf.replace('"amount_kopiykas":10000000', '"amount_kopiykas":1')
    row.leaf_hash = merkle.leaf_hash(row.leaf.encode()).hex()
    db.execute(delete(TreeHead))
    db.commit()
    decided_claim(db, users["commission"], amount=3)
    forked = log.sync(db, settings)
    assert forked.tree_size == 4
    assert verify(live, "--leaf", row.reference).exit_code == 0  # the forged leaf proves fine against the forged head
    r = verify(live, "--known-head", str(saved), "--leaf", row.reference)
    assert r.exit_code == 1 and "tree head of size 3 is not consistent with the latest (size 4)" in r.output
    assert "forked" in r.output


def test_verify_rejects_a_changed_saved_leaf_and_a_foreign_key(db, users, live, tmp_path: Path) -> None:
    claims = _store(db, users, 2)
    log.sync(db, get_settings())
    item = log.leaves_for(db, claims[0].reference)[0]
    genuine = tmp_path / "leaf.json"
    genuine.write_text(json.dumps(item))
    assert verify(live, "--leaf", str(genuine)).exit_code == 0
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps({**item, "leaf": item["leaf"].replace("10000000", "20000000")}))
    r = verify(live, "--leaf", str(changed))
    assert r.exit_code == 1 and "not included in the signed tree of size 3" in r.output
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from everymetre.transparency.signing import raw_public
    other = base64.b64encode(raw_public(Ed25519PrivateKey.generate().public_key())).decode()
    r = verify(live, "--key", other, "--leaf", claims[0].reference)
    assert r.exit_code == 1 and "names key" in r.output


def test_verify_errors_are_one_line(db, users) -> None:
    r = verify("http://127.0.0.1:9")
    assert r.exit_code == 2 and "cannot reach the log" in r.output and len(r.output.strip().splitlines()) == 1


def test_the_standalone_script_in_docs_agrees(db, users, live, tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(__file__).parents[2] / "docs" / "verify_log.py"
    claims = _store(db, users, 3)
    first = log.sync(db, get_settings())
    saved = tmp_path / "head.json"
    saved.write_text(json.dumps(first.head.as_dict()))
    decided_claim(db, users["commission"], amount=11)
    log.sync(db, get_settings())

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), live, *args], capture_output=True, text=True, timeout=60, check=False)

    r = run(claims[1].reference, "--head", str(saved))
    assert r.returncode == 0, r.stderr
    assert "consistent" in r.stdout and "included" in r.stdout and "size 5" in r.stdout
    # tamper with the logged leaf (and its hash, as a careful forger would): inclusion no longer holds
    leaf = db.scalars(select(LogLeaf).where(LogLeaf.reference == claims[1].reference)).one()
    leaf.leaf = leaf.leaf.replace("10000001", "10000009")
    leaf.leaf_hash = merkle.leaf_hash(leaf.leaf.encode()).hex()
    db.commit()
    r = run(claims[1].reference)
    assert r.returncode == 1 and "NOT included" in r.stdout
