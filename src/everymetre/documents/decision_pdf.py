"""The decision document: a PDF in Ukrainian (fpdf2, with DejaVu Sans from Debian's fonts-dejavu-core for
Cyrillic), made when the commission decides, stored by its SHA-256 under DATA_DIR/decisions/, and that hash
recorded in the claim's audit trail (`decision.document`). The same inputs always give the same bytes."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.claims.lifecycle import STANDING_AWARDS
from everymetre.claims.models import Claim, Decision, InspectionAct
from everymetre.config import get_settings
from everymetre.kernel.geography import BY_CODE
from everymetre.notifications.texts import format_day, format_money

KYIV = ZoneInfo("Europe/Kyiv")
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"), Path("/usr/local/share/fonts"))
OUTCOMES = {"approved": "Надати компенсацію", "rejected": "Відмовити в наданні компенсації",
            "upheld": "Скаргу розглянуто: рішення залишено без змін", "revised": "Скаргу розглянуто: рішення змінено"}


class FontMissing(RuntimeError):
    pass


def font_path(name: str = "DejaVuSans.ttf") -> Path:
    for d in FONT_DIRS:
        if (d / name).is_file():
            return d / name
    raise FontMissing(f"{name} not found (install Debian's fonts-dejavu-core)")


FACES = (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf"))
# What Ukrainian decisions are written in: Latin with its accents, Cyrillic, punctuation (dashes, quotes),
# currency (₴), № and ™. A text with anything else is set in the whole font.
COMMON_TEXT = [*range(0x20, 0x250), *range(0x400, 0x530), *range(0x2000, 0x2070), *range(0x20A0, 0x20D0), 0x2116, 0x2122]
_common: dict[str, Path] = {}
_common_lock = threading.Lock()


def common_font(name: str) -> Path:
    """DejaVu cut down to COMMON_TEXT (a seventh of its glyphs), made once into DATA_DIR/fonts.

    fpdf2 parses the whole TrueType file on every `add_font` and subsets it again on output: about 100 ms per
    face with the whole DejaVu, most of a decision's time; about a third of that with the cut-down font."""
    with _common_lock:
        if name in _common:
            return _common[name]
        from fontTools import subset

        full = font_path(name)
        opts = subset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True, layout_features=[])
        opts.drop_tables += ["GSUB", "GPOS", "GDEF", "FFTM"]
        font = subset.load_font(str(full), opts)
        cutter = subset.Subsetter(opts)
        cutter.populate(unicodes=COMMON_TEXT)
        cutter.subset(font)
        tag = hashlib.sha256(full.read_bytes() + repr(COMMON_TEXT).encode()).hexdigest()[:12]
        path = get_settings().data_dir / "fonts" / f"{full.stem}-common-{tag}.ttf"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
            subset.save_font(font, str(tmp), opts)
            tmp.replace(path)
        _common[name] = path
        return path


def build(claim: Claim, decision: Decision, act: InspectionAct | None, appeal_days: int) -> bytes:
    """The decision's PDF, set in the cut-down font (`common_font`), or in the whole DejaVu when a text needs a
    glyph the cut-down one lacks."""
    data, missing = _build(claim, decision, act, appeal_days, common=True)
    return _build(claim, decision, act, appeal_days, common=False)[0] if missing else data


def _build(claim: Claim, decision: Decision, act: InspectionAct | None, appeal_days: int, common: bool) -> tuple[bytes, bool]:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(decision.decided_at)
    pdf.set_title(f"Рішення щодо заяви {claim.reference}")
    pdf.set_author("everymetre")
    for style, name in FACES:
        pdf.add_font("DejaVu", style, str(common_font(name) if common else font_path(name)))
    pdf.add_page()
    w = pdf.epw

    def para(text: str, size: int = 11, bold: bool = False, gap: float = 2) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.multi_cell(w, 6, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    decided = decision.decided_at.astimezone(KYIV).date()
    para("Рішення комісії з розгляду питань щодо надання компенсації за пошкоджені та знищені об'єкти "
         "нерухомого майна", 14, True, 4)
    para(f"Заява {claim.reference} від {format_day(claim.submitted_at.astimezone(KYIV).date(), 'uk')}" if claim.submitted_at
         else f"Заява {claim.reference}")
    para(f"Дата рішення: {format_day(decided, 'uk')}")
    oblast = BY_CODE.get(claim.home.oblast)
    para(f"Об'єкт: {claim.home.address_line()}" + (f", {oblast.name_uk} область" if oblast else ""))
    para("Власники: " + "; ".join(f"{o.person.full_name} (частка {o.share_numerator}/{o.share_denominator})"
                                   for o in claim.owners))
    para(f"Рішення: {OUTCOMES.get(decision.outcome, decision.outcome)}", 12, True)
    if decision.amount_kopiykas is not None:
        para(f"Сума компенсації: {format_money(decision.amount_kopiykas, 'uk')}", 12, True)
    para(f"Підстави: {decision.reasons}")
    if act is not None and act.works:
        para("Як розраховано: роботи та ціни за актом обстеження від " + format_day(act.inspected_on, "uk"), 12, True)
        pdf.set_font("DejaVu", "", 9)
        with pdf.table(col_widths=(50, 12, 10, 14, 14), text_align=("LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT")) as table:
            table.row(["Робота", "Кількість", "Од.", "Ціна", "Сума"])
            for work in act.works:
                table.row([str(work.get("description", "")), str(work.get("quantity", "")), str(work.get("unit", "")),
                           format_money(int(work.get("unit_price_kopiykas", 0)), "uk"),
                           format_money(int(work.get("total_kopiykas", 0)), "uk")])
            table.row(["Разом", "", "", "", format_money(act.works_total_kopiykas, "uk")])
        pdf.ln(3)
    result: dict[str, Any] = decision.rule_result or {}
    if decision.ruleset_hash:
        para(f"Розрахунок за правилами програми (набір правил {decision.ruleset_hash[:12]}); "
             f"результат: {format_money(result.get('amount_kopiykas'), 'uk') if result.get('amount_kopiykas') is not None else '—'}.", 9)
    if decision.stage == "first":
        until = decided + timedelta(days=appeal_days)
        para(f"Якщо ви не згодні з рішенням, ви можете оскаржити його до {format_day(until, 'uk')} "
             "на сторінці заяви в кабінеті або в ЦНАП; також рішення можна оскаржити до адміністративного суду.", 11)
    else:
        para("Рішення за скаргою можна оскаржити до адміністративного суду.", 11)
    missing = any(getattr(f, "missing_glyphs", None) for f in pdf.fonts.values())
    if missing and common:
        return b"", True  # set again in the whole font (which may lack some too: then they show as boxes)
    return bytes(pdf.output()), missing


def decisions_dir() -> Path:
    return get_settings().data_dir / "decisions"


def issue(session: Session, claim_id: int) -> tuple[str, int] | None:
    """Make the PDF of the claim's latest decision, store it, and return (sha256, size); None if no decision."""
    claim = session.get(Claim, claim_id)
    decision = session.scalar(select(Decision).where(Decision.claim_id == claim_id, Decision.approval.in_(STANDING_AWARDS))
                              .order_by(Decision.id.desc()).limit(1))  # not an award waiting for (or refused) approval
    if claim is None or decision is None:
        return None
    act = session.scalar(select(InspectionAct).where(InspectionAct.claim_id == claim_id).order_by(InspectionAct.id.desc()).limit(1))
    data = build(claim, decision, act, get_settings().appeal_window_days)
    digest = hashlib.sha256(data).hexdigest()
    path = decisions_dir() / f"{digest}.pdf"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    return digest, len(data)


def read(digest: str) -> bytes:
    """The stored PDF by its hash, checked against it (ValueError if the file was altered)."""
    data = (decisions_dir() / f"{digest}.pdf").read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise ValueError(f"the stored decision document {digest[:12]} does not match its hash")
    return data
