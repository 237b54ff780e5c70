"""Signed tree heads: the text that is signed, Ed25519 signing (the `cryptography` library) and checking.

The signed text is a checkpoint in the C2SP tlog-checkpoint layout, with the root in hex and the time as an
extension line:

    everymetre/log
    42
    5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328
    timestamp 1764633600000

Anyone holding the public key checks a head with nothing but this text and the signature (docs/verify_log.py).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from everymetre.config import Settings


class SignatureError(ValueError):
    """A tree head whose signature does not verify with the log's public key."""


@dataclass(frozen=True, slots=True)
class SignedHead:
    origin: str
    tree_size: int
    root_hash: str  # hex
    timestamp_ms: int
    key_id: str
    signature: str  # base64

    def text(self) -> str:
        return checkpoint_text(self.origin, self.tree_size, self.root_hash, self.timestamp_ms)

    def as_dict(self) -> dict[str, object]:
        return {"origin": self.origin, "tree_size": self.tree_size, "root_hash": self.root_hash,
                "timestamp_ms": self.timestamp_ms, "key_id": self.key_id, "signature": self.signature,
                "signed_text": self.text()}


def checkpoint_text(origin: str, tree_size: int, root_hash: str, timestamp_ms: int) -> str:
    return f"{origin}\n{tree_size}\n{root_hash}\ntimestamp {timestamp_ms}\n"


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The key's id: hex SHA-256 of its 32 raw bytes."""
    return hashlib.sha256(raw_public(key)).hexdigest()


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise SignatureError(f"not an Ed25519 public key (base64 of 32 bytes): {exc}") from None


def sign(key: Ed25519PrivateKey, origin: str, tree_size: int, root_hash: str, timestamp_ms: int) -> SignedHead:
    text = checkpoint_text(origin, tree_size, root_hash, timestamp_ms)
    sig = base64.b64encode(key.sign(text.encode())).decode()
    return SignedHead(origin, tree_size, root_hash, timestamp_ms, key_id(key.public_key()), sig)


def verify_head(public: Ed25519PublicKey, head: SignedHead) -> None:
    """Raise SignatureError unless `head` was signed by `public`."""
    if head.key_id != key_id(public):
        raise SignatureError(f"tree head of size {head.tree_size} names key {head.key_id[:16]}…, not the log's key "
                             f"{key_id(public)[:16]}…")
    try:
        public.verify(base64.b64decode(head.signature), head.text().encode())
    except (InvalidSignature, ValueError):
        raise SignatureError(f"the signature on the tree head of size {head.tree_size} does not verify") from None


def log_key(settings: Settings) -> Ed25519PrivateKey:
    """The log's signing key: EVERYMETRE_LOG_SIGNING_KEY, else DATA_DIR/log-signing.key (generated once)."""
    if settings.log_signing_key:
        try:
            seed = base64.b64decode(settings.log_signing_key, validate=True)
            return Ed25519PrivateKey.from_private_bytes(seed)
        except ValueError:
            raise SystemExit("error: EVERYMETRE_LOG_SIGNING_KEY is not base64 of a 32-byte Ed25519 seed") from None
    return _key_file(settings.log_key_file.resolve())


@lru_cache(maxsize=8)
def _key_file(path: Path) -> Ed25519PrivateKey:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # O_EXCL: when several processes start at once, exactly one writes the key
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        pem = Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    for _ in range(100):
        data = path.read_bytes()
        if data.strip():
            key = serialization.load_pem_private_key(data, password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise SystemExit(f"error: {path} is not an Ed25519 private key")
            return key
        import time

        time.sleep(0.01)
    raise SystemExit(f"error: {path} is empty; delete it or set EVERYMETRE_LOG_SIGNING_KEY")
