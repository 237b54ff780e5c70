"""The same photo on claims of different homes: a finding for the reviewers (shown with the evidence's other
inconsistencies, both photos side by side).

Each uploaded photo gets a perceptual hash (pHash, `imagehash`) computed from its bounded preview (at most
320 x 240, made at upload: the original's pixels are never decoded beyond that), so re-encoding and resizing
leave the hash (nearly) unchanged. The hash's four 16-bit bands are indexed (`claims.models.PhotoHash`):
photos within `MAX_BITS` of each other share a band and are found with four index probes; the Hamming distance
is then checked exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import imagehash
from PIL import Image, ImageStat, UnidentifiedImageError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from everymetre.claims.models import Claim, Evidence, PhotoHash
from everymetre.kernel.identifiers import claim_reference

MAX_BITS = 3  # of 64: the pigeonhole over 4 bands finds every pair this close; closer than chance by far


MIN_CONTRAST = 4.0  # grey-level standard deviation below which a picture is blank (one colour): no fingerprint


def phash_of(path: str | Path) -> str | None:
    """The 16-hex-digit pHash of the image at `path` (a preview); None if it cannot be read or is blank (a
    one-colour picture says nothing about a home, and all of them would look alike)."""
    try:
        with Image.open(path) as img:
            grey = img.convert("L")
            if ImageStat.Stat(grey).stddev[0] < MIN_CONTRAST:
                return None
            return str(imagehash.phash(grey))
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def bands(phash: str) -> list[int]:
    return [int(phash[i:i + 4], 16) for i in range(0, 16, 4)]


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def remember(session: Session, evidence: Evidence, claim: Claim, phash: str) -> None:
    """Keep a photo's hash (in the caller's transaction, the upload's)."""
    b = bands(phash)
    session.add(PhotoHash(evidence_id=evidence.id, claim_id=claim.id, property_id=claim.property_id, phash=phash,
                          band0=b[0], band1=b[1], band2=b[2], band3=b[3]))


@dataclass(frozen=True, slots=True)
class Reuse:
    evidence_id: int  # this claim's photo
    other_evidence_id: int
    other_claim_id: int
    other_reference: str
    other_oblast: str
    bits: int  # how many of the 64 bits differ (0: the same picture)


def reused(session: Session, claim: Claim) -> list[Reuse]:
    """This claim's photos that appear (within MAX_BITS) on claims of other homes, closest first."""
    mine = list(session.scalars(select(PhotoHash).where(PhotoHash.claim_id == claim.id)))
    out: list[Reuse] = []
    for own in mine:
        b = bands(own.phash)
        stmt = (select(PhotoHash, Claim.ref_year, Claim.oblast).join(Claim, Claim.id == PhotoHash.claim_id)
                .where(or_(PhotoHash.band0 == b[0], PhotoHash.band1 == b[1], PhotoHash.band2 == b[2],
                           PhotoHash.band3 == b[3]),
                       PhotoHash.property_id != claim.property_id).limit(50))
        for other, year, oblast in session.execute(stmt):
            bits = distance(own.phash, other.phash)
            if bits <= MAX_BITS:
                out.append(Reuse(own.evidence_id, other.evidence_id, other.claim_id,
                                 claim_reference(year, other.claim_id), oblast, bits))
    return sorted(out, key=lambda r: (r.bits, r.evidence_id, r.other_claim_id))
