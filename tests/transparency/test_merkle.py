"""The Merkle tree against RFC 6962's published vectors (transparency-dev/merkle testonly/constants.go and
proof/verify_test.go) and against the RFC's recursive definitions, plus corrupted proofs that must fail."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from everymetre.transparency.merkle import (
    EMPTY_ROOT,
    ProofError,
    Tree,
    leaf_hash,
    node_hash,
    root_from_inclusion,
    verify_consistency,
    verify_inclusion,
)

h = bytes.fromhex
LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                         "606162636465666768696a6b6c6d6e6f")]
ROOTS = [h(x) for x in (  # root of the tree over the first 1..8 leaves
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")]
# (leaf number counted from 1, tree size, audit path)
INCLUSION = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
TREE = Tree([leaf_hash(x) for x in LEAVES])


def test_hashing_primitives() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a" * 32, b"b" * 32) == hashlib.sha256(b"\x01" + b"a" * 32 + b"b" * 32).digest()


def test_roots_match_the_published_vectors() -> None:
    assert TREE.root(0) == EMPTY_ROOT
    for size, want in enumerate(ROOTS, start=1):
        assert TREE.root(size) == want, size
        assert Tree(TREE.leaves[:size]).root() == want  # fresh tree, no memo shared


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_published_vectors(leaf: int, size: int, path: list[str]) -> None:
    proof = TREE.inclusion_proof(leaf - 1, size)
    assert [p.hex() for p in proof] == path
    verify_inclusion(leaf - 1, size, leaf_hash(LEAVES[leaf - 1]), [h(p) for p in path], ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_consistency_proofs_match_the_published_vectors(first: int, second: int, path: list[str]) -> None:
    assert [p.hex() for p in TREE.consistency_proof(first, second)] == path
    verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], [h(p) for p in path])


def _corrupt_inclusion(index: int, size: int, proof: list[bytes], root: bytes, leaf: bytes):
    yield index - 1, size, leaf, proof, root
    yield index + 1, size, leaf, proof, root
    yield index ^ 2, size, leaf, proof, root
    yield index, size * 2, leaf, proof, root
    yield index, size // 2, leaf, proof, root
    yield index, size, leaf_hash(b"WrongLeaf"), proof, root
    yield index, size, leaf, proof, EMPTY_ROOT
    yield index, size, leaf, [*proof, root], root
    yield index, size, leaf, [root, *proof], root
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 8]) + bad[i][1:]
        yield index, size, leaf, bad, root
    if proof:
        yield index, size, leaf, proof[:-1], root


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION)
def test_corrupted_inclusion_proofs_fail(leaf: int, size: int, path: list[str]) -> None:
    proof = [h(p) for p in path]
    for args in _corrupt_inclusion(leaf - 1, size, proof, ROOTS[size - 1], leaf_hash(LEAVES[leaf - 1])):
        with pytest.raises(ProofError):
            verify_inclusion(*args)


@pytest.mark.parametrize(("first", "second", "path"), CONSISTENCY)
def test_corrupted_consistency_proofs_fail(first: int, second: int, path: list[str]) -> None:
    proof = [h(p) for p in path]
    r1, r2 = ROOTS[first - 1], ROOTS[second - 1]
    probes = [(first - 1, second, r1, r2, proof), (first + 1, second, r1, r2, proof),
              (first ^ 2, second, r1, r2, proof), (first, second * 2, r1, r2, proof),
              (first, second // 2, r1, r2, proof), (first, second, EMPTY_ROOT, r2, proof),
              (first, second, r1, EMPTY_ROOT, proof), (first, second, r2, r1, proof), (first, second, r1, r2, []),
              (first, second, r1, r2, [*proof, r1]), (first, second, r1, r2, [*proof, r2]),
              (first, second, r1, r2, [r1, *proof]), (first, second, r1, r2, [r2, *proof]),
              (first, second, r1, r2, [proof[0], *proof]), (first, second, r1, r2, proof[:-1])]
    for i in range(len(proof)):
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 16]) + bad[i][1:]
        probes.append((first, second, r1, r2, bad))
    for args in probes:
        if args[0] == 0 and not args[4] or args[0] < 0:
            continue  # from the empty tree everything is consistent (or the size is meaningless)
        with pytest.raises(ProofError):
            verify_consistency(*args)


def test_edge_cases() -> None:
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[4], [])
    verify_consistency(3, 3, ROOTS[2], ROOTS[2], [])
    with pytest.raises(ProofError, match="forked"):
        verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    with pytest.raises(ProofError):
        verify_consistency(5, 3, ROOTS[4], ROOTS[2], [])
    verify_inclusion(0, 1, leaf_hash(b"data"), [], leaf_hash(b"data"))
    with pytest.raises(ProofError):
        root_from_inclusion(0, 0, leaf_hash(b"x"), [])
    with pytest.raises(ProofError):
        TREE.inclusion_proof(8, 8)
    with pytest.raises(ProofError):
        TREE.consistency_proof(5, 9)


# The RFC's recursive definitions, written out literally, as an independent reference.
def _mth(d: list[bytes]) -> bytes:
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return leaf_hash(d[0])
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return node_hash(_mth(d[:k]), _mth(d[k:]))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return _path(m, d[:k]) + [_mth(d[k:])] if m < k else _path(m - k, d[k:]) + [_mth(d[:k])]


def _subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [_mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return _subproof(m, d[:k], b) + [_mth(d[k:])] if m <= k else _subproof(m - k, d[k:], False) + [_mth(d[:k])]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(max_size=8), min_size=1, max_size=70), st.data())
def test_matches_the_rfc_definitions_and_verifies(data: list[bytes], draw: st.DataObject) -> None:
    tree = Tree([leaf_hash(x) for x in data])
    n = len(data)
    assert tree.root() == _mth(data)
    size = draw.draw(st.integers(1, n))
    index = draw.draw(st.integers(0, size - 1))
    proof = tree.inclusion_proof(index, size)
    assert proof == _path(index, data[:size])
    verify_inclusion(index, size, leaf_hash(data[index]), proof, tree.root(size))
    first = draw.draw(st.integers(1, size))
    cproof = tree.consistency_proof(first, size)
    assert cproof == (_subproof(first, data[:size], True) if first < size else [])
    verify_consistency(first, size, tree.root(first), tree.root(size), cproof)
    if first < size:  # a different history of the same length must not verify
        forked = Tree([leaf_hash(x + b"!") if i == first - 1 else leaf_hash(x) for i, x in enumerate(data)])
        with pytest.raises(ProofError):
            verify_consistency(first, size, forked.root(first), tree.root(size), cproof)
        with pytest.raises(ProofError):
            verify_inclusion(first - 1, size, leaf_hash(data[first - 1] + b"!"), tree.inclusion_proof(first - 1, size),
                             tree.root(size))
