"""A housing certificate as a PDF for its holder (fpdf2, DejaVu Sans for Cyrillic, as the decision document):
the number, the holder, the value and their share, the decision it comes from, the last valid day, what to do
next, and a QR code (segno, drawn as squares) that opens the public certificate check for this number. The
check asks for the holder's date of birth, so the code reveals nothing by itself. Same inputs, same bytes."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import segno
from fpdf import FPDF

from everymetre.documents.decision_pdf import font_path
from everymetre.notifications.texts import format_day, format_money
from everymetre.payments.models import Certificate

CHECK_PATH = "/public/certificate-check"


def check_url(base: str | None, number: str) -> str:
    return f"{(base or '').rstrip('/')}{CHECK_PATH}?{urlencode({'number': number})}"


def _qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    qr = segno.make(text, error="m", micro=False)
    rows = list(qr.matrix_iter(scale=1, border=2))
    cell = size / len(rows)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(x + c * cell, y + r * cell, cell, cell, style="F")


def build(cert: Certificate, holder_name: str, claim_reference: str, share: str, public_url: str | None) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(datetime.combine(cert.issued_on, datetime.min.time(), tzinfo=UTC))
    pdf.set_title(f"Житловий сертифікат {cert.number}")
    pdf.set_author("everymetre")
    pdf.add_font("DejaVu", "", str(font_path()))
    pdf.add_font("DejaVu", "B", str(font_path("DejaVuSans-Bold.ttf")))
    pdf.add_page()
    w = pdf.epw - 50

    def para(text: str, size: int = 11, bold: bool = False, gap: float = 2, width: float = w) -> None:
        pdf.set_font("DejaVu", "B" if bold else "", size)
        pdf.multi_cell(width, 6, text, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    url = check_url(public_url, cert.number)
    _qr(pdf, url, pdf.l_margin + pdf.epw - 42, pdf.t_margin, 42)
    para("Житловий сертифікат на придбання житла замість знищеного", 15, True, 4)
    para(f"Номер: {cert.number}", 13, True)
    para(f"Власник: {holder_name} (частка {share})")
    para(f"Вартість: {format_money(cert.value_kopiykas, 'uk')}", 13, True)
    para(f"Виданий: {format_day(cert.issued_on, 'uk')} за рішенням щодо заяви {claim_reference}")
    para(f"Дійсний до: {format_day(cert.expires_on, 'uk')} включно", 12, True, 4)
    width = pdf.epw
    para("Що робити далі", 12, True, 2, width)
    para("1. Оберіть житло будь-де в Україні, крім територій бойових дій і тимчасово окупованих територій.", width=width)
    para("2. Зверніться до нотаріуса або центру надання адміністративних послуг з цим сертифікатом: вони "
         "забронюють кошти. Бронювання підтверджується протягом 5 робочих днів; якщо коштів тимчасово немає, "
         "ви побачите своє місце в черзі.", width=width)
    para("3. Протягом 30 днів після підтвердження припиніть право власності на знищене житло (через знищення) і "
         "підпишіть договір купівлі-продажу, інакше бронювання втрачає силу.", width=width)
    para("4. Продавець отримає кошти протягом 5 днів після договору. Співвласники можуть об'єднати свої "
         "сертифікати для купівлі одного житла.", width=width, gap=4)
    para(f"Перевірити сертифікат: {url} (потрібна дата народження власника).", 9, width=width)
    return bytes(pdf.output())
