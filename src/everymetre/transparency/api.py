"""The public log over HTTP, no sign-in: the log's key, signed tree heads, inclusion and consistency
proofs, and leaves by claim reference (or batch message id) or index. Hashes are hex; signatures base64."""

from __future__ import annotations

import base64
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from everymetre.api.deps import MAX_ID, SessionDep, SettingsDep
from everymetre.api.problems import problem_responses
from everymetre.kernel.errors import NotFound, ValidationFailed
from everymetre.transparency import log, merkle
from everymetre.transparency.signing import SignedHead, key_id, log_key, raw_public

router = APIRouter(prefix="/api/v1/public/log", tags=["public log"])
RESPONSES = problem_responses({404: "No such leaf or tree head", 400: "A tree size the log has not reached"})
SizeQ = Annotated[int, Query(ge=0, le=MAX_ID)]
SizePath = Annotated[int, Path(ge=0, le=MAX_ID)]


class KeyOut(BaseModel):
    algorithm: Literal["Ed25519"] = "Ed25519"
    public_key: str = Field(description="base64 of the 32 raw public key bytes")
    key_id: str = Field(description="hex SHA-256 of the raw public key")
    origin: str = Field(description="the first line of every signed tree head")


class TreeHeadOut(BaseModel):
    origin: str
    tree_size: int
    root_hash: str = Field(description="hex RFC 6962 Merkle tree hash of the first tree_size leaves")
    timestamp_ms: int = Field(description="when the head was signed, milliseconds since 1970-01-01 UTC")
    key_id: str
    signature: str = Field(description="base64 Ed25519 signature of signed_text (UTF-8)")
    signed_text: str


class InclusionOut(BaseModel):
    leaf_index: int
    tree_size: int
    audit_path: list[str] = Field(description="hex hashes, RFC 9162 §2.1.3 order")


class ConsistencyOut(BaseModel):
    first: int
    second: int
    proof: list[str] = Field(description="hex hashes, RFC 9162 §2.1.4 order")


class LeafOut(BaseModel):
    index: int
    kind: Literal["decision", "batch"]
    reference: str
    leaf: str = Field(description="the leaf data: canonical JSON; hash its UTF-8 bytes as SHA-256(0x00 || data)")
    leaf_hash: str


def _out(head: SignedHead) -> TreeHeadOut:
    return TreeHeadOut(**head.as_dict())


def _size(session: SessionDep, size: int, what: str) -> int:
    held = log.log_size(session)
    if size > held:
        raise ValidationFailed(f"{what}={size}: the log holds {held} leaves", field=what)
    return held


@router.get("/key", response_model=KeyOut, summary="The log's public key")
def public_key(settings: SettingsDep) -> KeyOut:
    pub = log_key(settings).public_key()
    return KeyOut(public_key=base64.b64encode(raw_public(pub)).decode(), key_id=key_id(pub), origin=settings.log_origin)


@router.get("/tree-head", response_model=TreeHeadOut, responses=RESPONSES, summary="The latest signed tree head")
def latest(session: SessionDep, settings: SettingsDep) -> TreeHeadOut:
    head = log.latest_head(session, settings)
    if head is None:
        raise NotFound("The log has no signed tree head yet (run `everymetre log sync`).")
    return _out(head)


@router.get("/tree-heads", response_model=list[TreeHeadOut], summary="Every signed tree head, smallest first")
def all_heads(session: SessionDep, settings: SettingsDep) -> list[TreeHeadOut]:
    return [_out(h) for h in log.heads(session, settings)]


@router.get("/tree-heads/{size}", response_model=TreeHeadOut, responses=RESPONSES, summary="The signed head of one size")
def one_head(size: SizePath, session: SessionDep, settings: SettingsDep) -> TreeHeadOut:
    head = log.head_at(session, settings, size)
    if head is None:
        raise NotFound(f"No signed tree head of size {size}.")
    return _out(head)


@router.get("/proof/inclusion", response_model=InclusionOut, responses=RESPONSES, summary="Inclusion proof")
def inclusion(session: SessionDep, settings: SettingsDep, index: SizeQ, tree_size: SizeQ) -> InclusionOut:
    _size(session, tree_size, "tree_size")
    if index >= tree_size:
        raise ValidationFailed(f"index={index} is not below tree_size={tree_size}", field="index")
    path = log.served_tree(session, settings, tree_size).inclusion_proof(index, tree_size)
    return InclusionOut(leaf_index=index, tree_size=tree_size, audit_path=[p.hex() for p in path])


@router.get("/proof/consistency", response_model=ConsistencyOut, responses=RESPONSES, summary="Consistency proof")
def consistency(session: SessionDep, settings: SettingsDep, first: SizeQ, second: SizeQ) -> ConsistencyOut:
    _size(session, second, "second")
    if first > second:
        raise ValidationFailed(f"first={first} is larger than second={second}", field="first")
    try:
        proof = log.served_tree(session, settings, second).consistency_proof(first, second)
    except merkle.ProofError as exc:
        raise ValidationFailed(str(exc)) from None
    return ConsistencyOut(first=first, second=second, proof=[p.hex() for p in proof])


@router.get("/leaves", response_model=list[LeafOut], responses=RESPONSES, summary="Leaves for a claim reference or batch message id")
def leaves(session: SessionDep, reference: Annotated[str, Query(min_length=1, max_length=40)]) -> list[LeafOut]:
    return [LeafOut(**d) for d in log.leaves_for(session, reference.strip().upper())]


@router.get("/leaves/{index}", response_model=LeafOut, responses=RESPONSES, summary="One leaf by index")
def leaf(index: SizePath, session: SessionDep) -> LeafOut:
    found = log.leaf_at(session, index)
    if found is None:
        raise NotFound(f"No leaf {index} in the log.")
    return LeafOut(**found)
