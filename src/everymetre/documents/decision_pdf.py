"""The decision document: a PDF in Ukrainian (fpdf2, with DejaVu Sans from Debian's fonts-dejavu-core for
Cyrillic), made when the commission decides, stored by its SHA-256 under DATA_DIR/decisions/, and that hash
recorded in the claim's audit trail (`decision.document`). The same inputs always give the same bytes."""

from __future__ import annotations

import hashlib
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


def build(claim: Claim, decision: Decision, act: InspectionAct | None, appeal_days: int) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(decision.decided_at)
    pdf.set_title(f"Рішення щодо заяви {claim.reference}")
    pdf.set_author("everymetre")
    pdf.add_font("DejaVu", "", str(font_path()))
    pdf.add_font("DejaVu", "B", str(font_path("DejaVuSans-Bold.ttf")))
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
    return bytes(pdf.output())


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
