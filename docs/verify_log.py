#!/usr/bin/env python3
"""Check everymetre's public log yourself: Python 3.11+ and the `cryptography` package, nothing else.

    python verify_log.py https://everymetre.example                  # the latest signed tree head
    python verify_log.py https://everymetre.example EM-2026-0000042  # ... and that claim's decision is in it
    python verify_log.py https://everymetre.example --key BASE64 --head saved-head.json

It checks the latest tree head's Ed25519 signature (with the key you pin with --key, else the server's),
that a head you saved earlier (--head) is consistent with it (the log only grew, nothing was rewritten), and
that each leaf of the reference you give is included in it. The hashing is RFC 6962: leaf = SHA-256(0x00 ||
data), node = SHA-256(0x01 || left || right); the proof checks follow RFC 9162 §2.1.3.2 and §2.1.4.2.
Exit 0 if everything holds, 1 saying what does not.
"""

import argparse
import base64
import hashlib
import json
import sys
import urllib.parse
import urllib.request

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def get(base, path, **params):
    url = base.rstrip("/") + "/api/v1/public/log" + path + ("?" + urllib.parse.urlencode(params) if params else "")
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def root_from_inclusion(index, size, leaf_hash, path):
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ValueError("proof too short")
    return r


def consistent(first, second, root1, root2, proof):
    if first == second:
        return not proof and root1 == root2
    if first == 0:
        return not proof
    if first > second or not proof:
        return False
    path = ([root1] if first & (first - 1) == 0 else []) + list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == root1 and sr == root2


def check_head(key, head):
    text = f"{head['origin']}\n{head['tree_size']}\n{head['root_hash']}\ntimestamp {head['timestamp_ms']}\n"
    key.verify(base64.b64decode(head["signature"]), text.encode())  # raises InvalidSignature


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("url")
    ap.add_argument("reference", nargs="?", help="a claim reference (EM-2026-0000042) or a batch message id")
    ap.add_argument("--key", help="the log's public key, base64 (default: ask the server)")
    ap.add_argument("--head", help="a tree head saved earlier (JSON, as /tree-head returns it)")
    args = ap.parse_args()
    key_b64 = args.key or get(args.url, "/key")["public_key"]
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(key_b64))
    problems = []
    latest = get(args.url, "/tree-head")
    try:
        check_head(key, latest)
    except Exception:  # noqa: BLE001
        sys.exit(f"FAILED: the latest tree head's signature does not verify with key {key_b64}")
    size, root = latest["tree_size"], bytes.fromhex(latest["root_hash"])
    print(f"signed tree head: size {size}, root {latest['root_hash']}")
    if args.head:
        with open(args.head) as fh:
            saved = json.load(fh)
        try:
            check_head(key, saved)
            proof = get(args.url, "/proof/consistency", first=saved["tree_size"], second=size)["proof"]
            ok = consistent(saved["tree_size"], size, bytes.fromhex(saved["root_hash"]), root,
                            [bytes.fromhex(p) for p in proof])
        except Exception:  # noqa: BLE001
            ok = False
        print(f"saved head of size {saved['tree_size']}: " + ("consistent" if ok else "NOT consistent"))
        if not ok:
            problems.append(f"the saved head of size {saved['tree_size']} is not consistent with the latest: "
                            "the log was rewritten or forked")
    if args.reference:
        leaves = get(args.url, "/leaves", reference=args.reference)
        if not leaves:
            problems.append(f"{args.reference}: no leaf in the log")
        for item in leaves:
            leaf_hash = hashlib.sha256(b"\x00" + item["leaf"].encode()).digest()
            path = get(args.url, "/proof/inclusion", index=item["index"], tree_size=size)["audit_path"]
            try:
                ok = root_from_inclusion(item["index"], size, leaf_hash, [bytes.fromhex(p) for p in path]) == root
            except ValueError:
                ok = False
            print(f"leaf {item['index']}: {item['leaf']}: " + ("included" if ok else "NOT included"))
            if not ok:
                problems.append(f"leaf {item['index']} of {args.reference} is not included in the signed tree")
    for p in problems:
        print(f"FAILED: {p}", file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
