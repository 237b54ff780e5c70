"""RFC 6962 / RFC 9162 Merkle tree hashing, tree heads and proofs (pure, no I/O).

leaf hash = SHA-256(0x00 || data), node hash = SHA-256(0x01 || left || right); the tree over n leaves splits
at k, the largest power of two smaller than n (RFC 9162 §2.1.1). Proofs are lists of 32-byte hashes in the
order RFC 9162 §2.1.3 (inclusion: PATH) and §2.1.4 (consistency: PROOF) define, and the verifiers follow
§2.1.3.2 and §2.1.4.2 step by step, so any RFC 6962 client (Trillian, certificate-transparency-go,
transparency-dev/merkle) checks our proofs and we check theirs.

No maintained PyPI library implements both proofs with RFC 6962 hashing (checked: the `merkle*` packages are
unmaintained or use other hashing), so this is ours, tested against the transparency-dev/merkle vectors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(ValueError):
    """A proof that does not verify, or a request for one that cannot exist (sizes out of range)."""


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    """The Merkle tree over a list of leaf hashes; subtree hashes are memoised, so a root costs n - 1 node
    hashes once and every proof after it only looks them up."""

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        self.leaves = list(leaf_hashes)
        self._memo: dict[tuple[int, int], bytes] = {}

    def __len__(self) -> int:
        return len(self.leaves)

    def _hash(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for 0 <= lo < hi <= n."""
        if hi - lo == 1:
            return self.leaves[lo]
        key = (lo, hi)
        found = self._memo.get(key)
        if found is None:
            k = _split(hi - lo)
            found = node_hash(self._hash(lo, lo + k), self._hash(lo + k, hi))
            self._memo[key] = found
        return found

    def root(self, size: int | None = None) -> bytes:
        """The root of the tree over the first `size` leaves (all of them by default)."""
        size = len(self.leaves) if size is None else size
        if not 0 <= size <= len(self.leaves):
            raise ProofError(f"tree size {size} is outside 0..{len(self.leaves)}")
        return EMPTY_ROOT if size == 0 else self._hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[0:size]): the audit path proving leaf `index` is in the tree of `size` leaves."""
        size = len(self.leaves) if size is None else size
        if not 0 <= index < size <= len(self.leaves):
            raise ProofError(f"no leaf {index} in a tree of {size} (the log holds {len(self.leaves)})")
        path: list[bytes] = []
        lo, hi, m = 0, size, index
        while hi - lo > 1:
            k = _split(hi - lo)
            if m < k:
                path.append(self._hash(lo + k, hi))
                hi = lo + k
            else:
                path.append(self._hash(lo, lo + k))
                lo, m = lo + k, m - k
        path.reverse()  # PATH lists the sibling nearest the leaf first
        return path

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[0:second]): proves the tree of `first` leaves is a prefix of the tree of `second`."""
        second = len(self.leaves) if second is None else second
        if not 0 <= first <= second <= len(self.leaves):
            raise ProofError(f"no consistency proof from {first} to {second} (the log holds {len(self.leaves)})")
        if first == 0 or first == second:
            return []
        proof: list[bytes] = []
        lo, hi, m, whole = 0, second, first, True
        while m != hi - lo:  # SUBPROOF(m, D[lo:hi], whole)
            k = _split(hi - lo)
            if m <= k:
                proof.append(self._hash(lo + k, hi))
                hi = lo + k
            else:
                proof.append(self._hash(lo, lo + k))
                lo, m, whole = lo + k, m - k, False
        if not whole:
            proof.append(self._hash(lo, hi))
        proof.reverse()
        return proof


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    return Tree(leaf_hashes).root()


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof implies (RFC 9162 §2.1.3.2); raises ProofError if it cannot be one."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not in a tree of {size}")
    if len(leaf) != HASH_SIZE or any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("a hash in the proof is not 32 bytes")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError("the proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Raise ProofError unless `proof` shows leaf hash `leaf` at `index` in the tree of `size` with `root`."""
    if root_from_inclusion(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof for leaf {index} does not lead to the root of the tree of {size}")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Raise ProofError unless `proof` shows the tree (first, first_root) is a prefix of (second, second_root)."""
    if not 0 <= first <= second:
        raise ProofError(f"tree size {first} cannot be consistent with the smaller {second}")
    if first == second:
        if proof:
            raise ProofError("two heads of the same size need an empty proof")
        if first_root != second_root:
            raise ProofError(f"two different roots for the same tree size {first}: the log forked")
        return
    if first == 0:
        if proof:
            raise ProofError("consistency from the empty tree needs an empty proof")
        return
    if not proof:
        raise ProofError("empty consistency proof between different tree sizes")
    if any(len(p) != HASH_SIZE for p in proof):
        raise ProofError("a hash in the proof is not 32 bytes")
    path = list(proof)
    if first & (first - 1) == 0:  # first is a power of two: its root is a node of the second tree
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    if fr != first_root:
        raise ProofError(f"the consistency proof does not lead to the root of the tree of {first}: the log forked "
                         "or was rewritten")
    if sr != second_root:
        raise ProofError(f"the consistency proof does not lead to the root of the tree of {second}")
