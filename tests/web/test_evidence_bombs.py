"""Decompression bombs: an image's size is judged from its header, EXIF is read without decoding pixels, and
pages show bounded previews made once, never the full image."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import zlib
from functools import cache

from PIL import Image

from tests.factories import jpeg_with_exif
from tests.store.test_claims_api import API, file_claim


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def bomb_png(width: int = 8944, height: int = 8944) -> bytes:
    """An all-black RGB PNG of about 300 KB whose pixels take 240 MB once decoded, with an eXIf chunk after
    its pixels (where Pillow's getexif() decodes the whole image to look)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width * 3)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    exif = Image.Exif()
    exif.get_ifd(0x8769)[36867] = "2024:03:16 10:30:00"
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat)
            + _chunk(b"eXIf", exif.tobytes()) + _chunk(b"IEND", b""))


def test_bomb_is_checked_without_decoding_pixels(tmp_path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png())
    assert len(bomb.read_bytes()) < 400_000
    code = ("import resource, sys\n"
            "from everymetre.claims import evidence\n"
            "data = open(sys.argv[1], 'rb').read()\n"
            "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "s = evidence.sniff(data)\n"
            "print(s.content_type, s.taken_at.isoformat(),"
            " resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n")
    out = subprocess.run([sys.executable, "-c", code, str(bomb)], capture_output=True, text=True, check=True).stdout
    ctype, taken, grown_kb = out.split()
    assert ctype == "image/png" and taken.startswith("2024-03-16T10:30:00")
    assert int(grown_kb) < 50_000, f"checking the file took {int(grown_kb) // 1024} MB more memory"


def test_pages_show_bounded_previews_not_the_image(client, auth, web) -> None:
    from everymetre.claims.evidence import thumbnail_path

    ref = file_claim(client, auth)["reference"]
    photo = client.post(f"{API}/claims/{ref}/evidence", files={"file": ("dom.jpg", _big_jpeg(), "image/jpeg")},
                        headers=auth("citizen")).json()
    r = client.post(f"{API}/claims/{ref}/evidence", files={"file": ("bomb.png", bomb_png(), "image/png")},
                    headers=auth("citizen"))
    assert r.status_code == 201, r.text  # accepted, never decoded
    bomb = r.json()
    officer = web("officer")
    page = officer.get(f"/staff/claims/{ref}").text
    assert f'src="/files/{ref}/{photo["id"]}/preview"' in page
    assert f'src="/files/{ref}/{photo["id"]}"' not in page and f'src="/files/{ref}/{bomb["id"]}' not in page
    assert f'href="/files/{ref}/{bomb["id"]}"' in page  # the file itself is one click away
    preview = officer.get(f"/files/{ref}/{photo['id']}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(preview.content)) as img:
        assert img.width <= 320 and img.height <= 240 and not img.getexif()  # no GPS leaks into previews
    assert thumbnail_path(photo["sha256"]).read_bytes() == preview.content  # made once, beside the file
    assert officer.get(f"/files/{ref}/{bomb['id']}/preview").status_code == 404
    assert web("citizen2").get(f"/files/{ref}/{photo['id']}/preview").status_code == 404
    assert web("citizen").get(f"/files/{ref}/{photo['id']}/preview").status_code == 200


def _big_jpeg() -> bytes:
    with Image.open(io.BytesIO(jpeg_with_exif())) as small:
        exif = small.info["exif"]
    buf = io.BytesIO()
    Image.new("RGB", (4000, 3000), (90, 120, 60)).save(buf, "JPEG", exif=exif)
    return buf.getvalue()
