"""Evidence files: checked by content (not by name), stored once by SHA-256, EXIF date and place kept.

Accepted: JPEG, PNG, WebP photos and PDF documents. A file whose bytes are not what it claims to be is
refused; nothing uploaded is ever served with a type a browser would run (see the API's download route).
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import claim_chain, record
from everymetre.claims import photo_reuse
from everymetre.claims.access import get_claim, is_party
from everymetre.claims.lifecycle import ACCEPTS_EVIDENCE, State
from everymetre.claims.models import Claim, Evidence
from everymetre.config import get_settings, private_dir
from everymetre.kernel.errors import NotFound, PayloadTooLarge, UnsupportedMedia, ValidationFailed
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
KINDS = ("photo_closeup", "photo_wide", "document", "photo", "power_of_attorney")  # the last: a representative's
MAX_PIXELS = 80_000_000  # larger "images" are decompression bombs, not photos
Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # and Pillow itself refuses to decode them, wherever they are opened
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
THUMB_SIZE = (320, 240)
# a JPEG is previewed from its 1/8-scale DCT (cheap at any size); a PNG or WebP must be decoded whole, so only
# up to this many pixels (about 48 MB decoded) and one at a time per process
THUMB_DECODE_MAX_PIXELS = 16_000_000
_THUMB_LOCK = threading.Lock()
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_DATETIME_ORIGINAL, _DATETIME = 36867, 306


@dataclass(frozen=True, slots=True)
class Sniffed:
    content_type: str
    taken_at: datetime | None = None
    latitude: float | None = None
    longitude: float | None = None


def sniff(data: bytes) -> Sniffed:
    """What the bytes really are, with EXIF date and GPS for photos; UnsupportedMedia otherwise.

    Pixels are never decoded here: Pillow's `open` reads the header (the dimensions are checked before
    anything else), EXIF comes from the header's metadata (or, in a PNG, from its eXIf chunk found by walking
    the chunks), and `verify` checks the structure without decompressing. An 8944 x 8944 all-black PNG of
    300 KB costs what its 300 KB cost, not the 240 MB its pixels would."""
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-1024:]:
            raise UnsupportedMedia("The PDF looks cut short (no end marker); please upload the whole file.")
        return Sniffed("application/pdf")
    if not (data.startswith((b"\xff\xd8\xff", PNG_SIGNATURE)) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")):
        raise UnsupportedMedia("Only photos (JPEG, PNG, WebP) and PDF documents are accepted; this file is neither.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise UnsupportedMedia("The image is too large in pixels to be a photo.")
            fmt = img.format or ""
            exif = _exif_of(img, data)
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError, struct.error):
        raise UnsupportedMedia("The image is damaged or not really an image; please upload the original photo.") from None
    if fmt not in IMAGE_TYPES:
        raise UnsupportedMedia("Only photos (JPEG, PNG, WebP) and PDF documents are accepted.")
    taken = _exif_time(exif)
    lat, lon = _exif_gps(exif)
    return Sniffed(IMAGE_TYPES[fmt], taken, lat, lon)


def _exif_of(img: Image.Image, data: bytes) -> Image.Exif:
    """The EXIF block without decoding pixels (`Image.getexif` loads a whole PNG to find one after its pixels)."""
    raw = img.info.get("exif")
    if raw is None and img.format == "PNG":
        raw = _png_chunk(data, b"eXIf")
    exif = Image.Exif()
    if isinstance(raw, bytes) and raw:
        exif.load(raw)
    return exif


def _png_chunk(data: bytes, kind: bytes) -> bytes | None:
    """The first chunk of that type in a PNG, found by walking the chunk headers (nothing decompressed)."""
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        length, ctype = struct.unpack(">I4s", data[pos:pos + 8])
        if ctype == kind:
            return data[pos + 8:pos + 8 + length]
        if ctype == b"IEND":
            return None
        pos += 12 + length
    return None


def _exif_time(exif: Image.Exif) -> datetime | None:
    raw = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    if not raw:
        return None
    try:
        # EXIF has no zone; cameras and phones write local time. We keep it as written, labelled UTC+0.
        return datetime.strptime(str(raw).strip("\x00 "), "%Y:%m:%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _exif_gps(exif: Image.Exif) -> tuple[float | None, float | None]:
    gps = exif.get_ifd(_GPS_IFD)
    try:
        lat = _dms(gps[2], gps.get(1, "N"), "S")
        lon = _dms(gps[4], gps.get(3, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None, None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None, None
    return round(lat, 7), round(lon, 7)


def _dms(values, ref, negative: str) -> float:
    d, m, s = (float(v) for v in values)
    out = d + m / 60 + s / 3600
    return -out if str(ref).upper().startswith(negative) else out


def blob_path(sha256: str) -> Path:
    return get_settings().evidence_dir / sha256[:2] / sha256[2:4] / sha256


def store_blob(data: bytes) -> str:
    """Write the bytes once under their SHA-256 (atomic rename); return the hash."""
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(digest)
    if not path.exists():
        private_dir(path.parent)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    return digest


def thumbnail_path(sha256: str) -> Path:
    """A preview beside the file, named by the file's content hash (made once, shared by every claim)."""
    return blob_path(sha256).with_name(f"{sha256}.thumb.jpg")


def ensure_thumbnail(sha256: str, content_type: str) -> Path | None:
    """The file's bounded preview (at most 320 x 240 JPEG, no EXIF), made on first need; None when the file
    is not an image or is too large to decode safely (the page then offers the download only)."""
    if not content_type.startswith("image/"):
        return None
    path = thumbnail_path(sha256)
    if path.exists():
        return path
    with _THUMB_LOCK:
        if path.exists():
            return path
        try:
            with Image.open(blob_path(sha256)) as img:
                if img.format == "JPEG":
                    img.draft("RGB", (THUMB_SIZE[0] * 2, THUMB_SIZE[1] * 2))
                elif img.width * img.height > THUMB_DECODE_MAX_PIXELS:
                    return None
                img.thumbnail(THUMB_SIZE)
                small = img.convert("RGB")
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
            return None
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=80)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".thumb-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)
    return path


def do_add_evidence(session: Session, principal: Principal, reference: str, filename: str, data: bytes,
                    kind: str = "photo") -> Evidence:
    limit = get_settings().evidence_max_bytes
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is {len(data) / 1_048_576:.1f} MB; the limit is {limit // 1_048_576} MB.")
    if not data:
        raise ValidationFailed("The file is empty.", field="file")
    if kind not in KINDS:
        raise ValidationFailed(f"kind must be one of: {', '.join(KINDS)}", field="kind")
    sniffed = sniff(data)
    if kind == "document" and sniffed.content_type != "application/pdf":
        kind = "photo"
    with atomic(session):
        claim: Claim = get_claim(session, principal, reference)
        require(principal.actor, Action.EVIDENCE_ADD, Subject(frozenset({claim.oblast}), is_party(principal, claim)))
        if State(claim.state) not in ACCEPTS_EVIDENCE:
            raise ValidationFailed(f"The claim is {claim.state}; no more files can be added.", field="file")
        digest = store_blob(data)
        preview = ensure_thumbnail(digest, sniffed.content_type)
        ev = Evidence(claim_id=claim.id, sha256=digest, content_type=sniffed.content_type, size_bytes=len(data),
                      original_name=Path(filename or "upload").name[:255], kind=kind, taken_at=sniffed.taken_at,
                      latitude=sniffed.latitude, longitude=sniffed.longitude, uploaded_by_id=principal.user_id,
                      uploaded_at=utcnow())
        session.add(ev)
        session.flush()
        if preview is not None and kind != "power_of_attorney" and (phash := photo_reuse.phash_of(preview)):  # a photo's fingerprint (reuse)
            photo_reuse.remember(session, ev, claim, phash)
        record(session, claim_chain(claim.id), "evidence.added", principal.user_id,
               {"after": {"evidence_id": ev.id, "sha256": digest, "content_type": ev.content_type, "size": len(data),
                          "kind": kind, "taken_at": ev.taken_at, "latitude": ev.latitude, "longitude": ev.longitude}},
               claim_id=claim.id)
    return ev


def get_evidence(session: Session, principal: Principal, reference: str, evidence_id: int) -> Evidence:
    """One file of a claim the principal may see; NotFound otherwise."""
    claim = get_claim(session, principal, reference)
    ev = session.get(Evidence, evidence_id)
    if ev is None or ev.claim_id != claim.id:
        raise NotFound("No such file on this claim.")
    return ev


def read_blob(ev: Evidence) -> bytes:
    return blob_path(ev.sha256).read_bytes()
