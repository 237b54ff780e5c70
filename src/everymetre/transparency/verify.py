"""Checking the public log from outside: what `everymetre log verify` runs.

Over HTTP only (urllib; no database): the latest tree head's signature, every published head's signature and
its consistency with the latest (a head that is not is a fork), and the inclusion of given leaves. With the
database too: every decision and exported batch the store holds is rebuilt into its leaf, placed at the
index the log gave it, and the root over them must be the signed root; the server's inclusion proof for each
(up to `max_proofs`, spread evenly) must verify too. Each problem is one line naming what does not hold.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from everymetre.transparency import merkle
from everymetre.transparency.signing import (
    SignatureError,
    SignedHead,
    public_key_from_b64,
    verify_head,
)


class Unreachable(Exception):
    """The log's server could not be asked (connection refused, not JSON, an unexpected status)."""


class LogClient:
    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base = base_url.rstrip("/") + "/api/v1/public/log"
        self.timeout = timeout

    def get(self, path: str, **params: Any) -> Any:
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail", "")
            except ValueError:
                detail = ""
            raise LogRefused(exc.code, f"{path}: HTTP {exc.code} {detail}".strip()) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise Unreachable(f"{url}: {getattr(exc, 'reason', exc)}") from None


class LogRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def head_from(d: dict[str, Any]) -> SignedHead:
    return SignedHead(str(d["origin"]), int(d["tree_size"]), str(d["root_hash"]), int(d["timestamp_ms"]),
                      str(d["key_id"]), str(d["signature"]))


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    head: SignedHead | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _hashes(items: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in items]


def check_heads(client: LogClient, key: Ed25519PublicKey, report: Report,
                known: Sequence[SignedHead] = ()) -> SignedHead | None:
    """The latest head's signature, then every published (and every `known`) head against it."""
    try:
        latest = head_from(client.get("/tree-head"))
        verify_head(key, latest)
    except SignatureError as exc:
        report.problems.append(f"latest tree head: {exc}")
        return None
    except LogRefused as exc:
        report.problems.append(f"latest tree head: {exc}")
        return None
    report.head = latest
    published = [head_from(d) for d in client.get("/tree-heads")]
    if published and published[0].tree_size <= latest.tree_size:
        report.notes.append(f"first head: size {published[0].tree_size}; latest: size {latest.tree_size}")
    for head in [*published, *known]:
        if head.tree_size > latest.tree_size:
            report.problems.append(f"tree head of size {head.tree_size} is larger than the latest ({latest.tree_size}): "
                                   "the log was truncated")
            continue
        try:
            verify_head(key, head)
            proof = client.get("/proof/consistency", first=head.tree_size, second=latest.tree_size)["proof"]
            merkle.verify_consistency(head.tree_size, latest.tree_size, bytes.fromhex(head.root_hash),
                                      bytes.fromhex(latest.root_hash), _hashes(proof))
        except (SignatureError, merkle.ProofError, LogRefused, ValueError) as exc:
            report.problems.append(f"tree head of size {head.tree_size} is not consistent with the latest "
                                   f"(size {latest.tree_size}): {exc}")
    return latest


def check_inclusion(client: LogClient, head: SignedHead, index: int, leaf: bytes, what: str, report: Report) -> bool:
    """Leaf data `leaf` at `index` under the signed `head`, by the server's audit path."""
    try:
        path = client.get("/proof/inclusion", index=index, tree_size=head.tree_size)["audit_path"]
        merkle.verify_inclusion(index, head.tree_size, merkle.leaf_hash(leaf), _hashes(path),
                                bytes.fromhex(head.root_hash))
    except (merkle.ProofError, LogRefused, ValueError) as exc:
        report.problems.append(f"{what}: not included in the signed tree of size {head.tree_size}: {exc}")
        return False
    return True


def check_leaf(client: LogClient, head: SignedHead, wanted: str, report: Report) -> None:
    """`wanted` is a claim reference / batch message id (leaves fetched from the server, hashed here) or a
    saved leaf: a JSON object with `index` and `leaf` (the decision page's download)."""
    saved: list[dict[str, Any]]
    if wanted.lstrip().startswith("{"):
        saved = [json.loads(wanted)]
    else:
        saved = client.get("/leaves", reference=wanted)
        if not saved:
            report.problems.append(f"{wanted}: no leaf in the log")
            return
    for item in saved:
        text = str(item["leaf"])
        try:
            content = json.loads(text)
        except ValueError:
            report.problems.append(f"leaf {item.get('index')}: not JSON")
            continue
        what = f"{content.get('kind', 'leaf')} {content.get('reference') or content.get('message_id')} (leaf {item['index']})"
        if not wanted.lstrip().startswith("{") and wanted.upper() not in (str(content.get("reference", "")).upper(),
                                                                         str(content.get("message_id", "")).upper()):
            report.problems.append(f"{what}: the server answered {wanted} with a leaf about something else")
            continue
        if check_inclusion(client, head, int(item["index"]), text.encode(), what, report):
            report.notes.append(f"{what}: included")


def check_store(client: LogClient, head: SignedHead, expected: Sequence[tuple[str, str, int, str]],
                logged: dict[tuple[str, int], tuple[int, str]], report: Report, max_proofs: int = 2000) -> None:
    """`expected`: (kind, what, ref id, leaf text) for every decision and batch in the store now;
    `logged`: (kind, ref id) -> (index, hash) as the log table holds them (used only to find the index)."""
    positions: dict[int, bytes] = {}
    placed: list[tuple[int, str, str]] = []
    for kind, what, ref_id, text in expected:
        at = logged.get((kind, ref_id))
        if at is None or at[0] >= head.tree_size:
            report.problems.append(f"{what}: not in the signed log of size {head.tree_size} "
                                   "(run `everymetre log sync`, or it was dropped)")
            continue
        index, logged_hash = at
        mine = merkle.leaf_hash(text.encode())
        if mine.hex() != logged_hash:
            report.problems.append(f"{what}: differs from its leaf {index} in the log (changed after it was logged)")
        positions[index] = mine
        placed.append((index, what, text))
    for (kind, ref_id), (index, h) in logged.items():
        if index < head.tree_size and index not in positions:
            report.problems.append(f"leaf {index} ({kind} {ref_id}) is in the log but no longer in the store")
            positions[index] = bytes.fromhex(h)
    if len(positions) != head.tree_size or set(positions) != set(range(head.tree_size)):
        report.problems.append(f"the log has {len(positions)} leaves below size {head.tree_size}, with gaps: "
                               "a leaf was dropped")
    else:
        root = merkle.root_of([positions[i] for i in range(head.tree_size)])
        if root.hex() != head.root_hash:
            report.problems.append(f"the store's decisions and batches do not give the signed root of size "
                                   f"{head.tree_size}")
    placed.sort()
    step = max(1, len(placed) // max_proofs) if max_proofs > 0 else 1
    sample = placed[::step]
    for index, what, text in sample:
        check_inclusion(client, head, index, text.encode(), what, report)
    report.notes.append(f"{len(placed):,} decisions and batches placed in the tree; {len(sample):,} inclusion "
                        "proofs from the server checked")


def load_key(client: LogClient, pinned: str | None, report: Report) -> Ed25519PublicKey:
    if pinned:
        return public_key_from_b64(pinned)
    published = client.get("/key")
    key = public_key_from_b64(published["public_key"])
    report.notes.append(f"key from the server (pin it with --key): {published['public_key']} id {published['key_id'][:16]}…")
    return key
