"""Languages of the pages: Ukrainian by default, English one click away.

Messages are written in English in the templates and code; `locale/<lang>/LC_MESSAGES/messages.po` holds
the translations. The .po files are compiled in memory when first used (no .mo files in the repository).
"""

from __future__ import annotations

import gettext as _gettext
import io
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("uk", "en")
DEFAULT = "uk"
LANG_COOKIE = "em_lang"
KYIV = ZoneInfo("Europe/Kyiv")  # times are stored in UTC and shown as people in Ukraine read their clocks
_current: ContextVar[str] = ContextVar("everymetre_lang", default=DEFAULT)


@cache
def translations(lang: str) -> _gettext.NullTranslations:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return _gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def set_language(lang: str) -> None:
    _current.set(lang if lang in LANGUAGES else DEFAULT)


def language() -> str:
    return _current.get()


def gettext(message: str, **variables: object) -> str:
    text = translations(language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(language()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


def N_(message: str) -> str:  # noqa: N802 - the conventional marker for messages translated later
    return message


def money(kopiykas: int | None) -> str:
    """Integer kopiykas as hryvnias with 2 decimals: '37 375,13 грн' / 'UAH 37,375.13'."""
    if kopiykas is None:
        return "—"
    amount = format_decimal(Decimal(kopiykas) / 100, format="#,##0.00", locale=_babel_locale())
    return f"{amount} грн" if language() == "uk" else f"UAH {amount}"


def day(value: date | datetime | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):  # the day it was in Ukraine
        value = value.astimezone(KYIV).date() if value.tzinfo else value.date()
    return format_date(value, format="long", locale=_babel_locale())


def moment(value: datetime | None) -> str:
    if value is None:
        return "—"
    # stored in UTC, shown as the clock in Ukraine read (summer time included): "12 бер. 2026 р., 14:05"
    fmt = "d MMM y 'р.', HH:mm" if language() == "uk" else "d MMM y, HH:mm"
    return format_datetime(value, format=fmt, tzinfo=KYIV, locale=_babel_locale())


def number(value: Decimal | float | int | None, digits: int = 2) -> str:
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0." + "#" * digits if digits else "#,##0", locale=_babel_locale())


def _babel_locale() -> Locale:
    return Locale.parse("uk_UA" if language() == "uk" else "en_GB")


def parse_money(text: str) -> int:
    """'1 234,56', '1234.56' or '1,234.56' hryvnias -> kopiykas; ValueError with a plain message otherwise."""
    raw = text.strip().replace("\u00a0", "").replace(" ", "").replace("грн", "").replace("UAH", "")
    if "," in raw and "." in raw:
        raw = raw.replace(",", "")
    else:
        raw = raw.replace(",", ".")
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise ValueError(gettext("Write the amount in hryvnias, for example 1234.50")) from None
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError(gettext("Write the amount in hryvnias with at most 2 decimals, for example 1234.50"))
    return int(value * 100)
