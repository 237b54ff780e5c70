"""The bank's reasons for returning a payment (ISO 20022 external return reason codes, as they arrive in a
camt.053 `RtrInf/Rsn/Cd`), in Ukrainian and English, with what the payments officer does about each.

The API answers both languages (a treasury system shows whichever it needs); pages show the reader's. An
unknown code is shown as itself with "reason not in our list" rather than dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Remedy(StrEnum):
    """What it takes to pay again."""

    NEW_ACCOUNT = "new_account"  # the claimant's account is wrong, closed or blocked: they must give another
    RETRY = "retry"  # a passing fault (ours or the bank's): the next batch may pay the same account
    INVESTIGATE = "investigate"  # the payee (or the payment itself) needs checking before anything is paid


@dataclass(frozen=True, slots=True)
class ReturnReason:
    code: str
    en: str
    uk: str
    remedy: Remedy

    def text(self, lang: str) -> str:
        return self.uk if lang == "uk" else self.en


N, R, X = Remedy.NEW_ACCOUNT, Remedy.RETRY, Remedy.INVESTIGATE  # new account, retry, examine
_REASONS = [
    ReturnReason("AC01", "Incorrect account number", "Неправильний номер рахунку", N),
    ReturnReason("AC03", "Invalid creditor account number", "Недійсний номер рахунку отримувача", N),
    ReturnReason("AC04", "Closed account number", "Рахунок закрито", N),
    ReturnReason("AC06", "Blocked account", "Рахунок заблоковано", N),
    ReturnReason("AC13", "Invalid debtor account type", "Неприпустимий тип рахунку платника", R),
    ReturnReason("AG01", "Transaction forbidden on this account", "Операції на цей рахунок заборонені", N),
    ReturnReason("AG02", "Invalid bank operation code", "Недійсний код банківської операції", R),
    ReturnReason("AM04", "Insufficient funds", "Недостатньо коштів", R),
    ReturnReason("AM05", "Duplicate payment", "Повторний платіж", X),
    ReturnReason("AM09", "Wrong amount", "Неправильна сума", X),
    ReturnReason("BE01", "Payee's name does not match the account", "Ім'я отримувача не збігається з рахунком", N),
    ReturnReason("BE04", "Missing creditor address", "Бракує адреси отримувача", R),
    ReturnReason("BE06", "Unknown end customer", "Невідомий кінцевий клієнт банку", N),
    ReturnReason("CUST", "Cancelled at the customer's request", "Скасовано на вимогу клієнта", X),
    ReturnReason("FF01", "Invalid file format", "Неправильний формат файлу", R),
    ReturnReason("MD06", "Refund requested by the customer", "Клієнт вимагає повернення коштів", X),
    ReturnReason("MD07", "End customer deceased", "Кінцевий клієнт банку помер", X),
    ReturnReason("MS02", "Reason not specified by the customer", "Клієнт не вказав причину", X),
    ReturnReason("MS03", "Reason not specified by the bank", "Банк не вказав причину", X),
    ReturnReason("NARR", "Reason given in the bank's narrative", "Причину описано в повідомленні банку", X),
    ReturnReason("RC01", "Incorrect bank identifier", "Неправильний код банку", N),
    ReturnReason("RR01", "Missing debtor account or identification", "Бракує рахунку або даних платника", R),
    ReturnReason("RR02", "Missing debtor name or address", "Бракує імені або адреси платника", R),
    ReturnReason("RR03", "Missing creditor name or address", "Бракує імені або адреси отримувача", R),
    ReturnReason("RR04", "Regulatory reason", "Регуляторна причина", X),
    ReturnReason("SL01", "Specific service offered by the bank", "Особлива послуга банку", X),
    ReturnReason("TM01", "Received after the bank's cut-off time", "Надійшло після операційного часу банку", R),
]
RETURN_REASONS: dict[str, ReturnReason] = {r.code: r for r in _REASONS}


def reason(code: str | None) -> ReturnReason:
    """The reason for `code`; a code we do not list comes back as itself, to be investigated."""
    c = (code or "NARR").strip().upper()
    if c in RETURN_REASONS:
        return RETURN_REASONS[c]
    return ReturnReason(c, f"Reason {c} (not in our list of bank codes)", f"Причина {c} (немає в нашому переліку кодів банку)",
                        Remedy.INVESTIGATE)


def reason_fields(code: str | None) -> dict[str, str | None]:
    """What the API says of a return: the code, the reason in both languages, and the remedy."""
    if not code:
        return {"reason_code": None, "reason_en": None, "reason_uk": None, "remedy": None}
    r = reason(code)
    return {"reason_code": r.code, "reason_en": r.en, "reason_uk": r.uk, "remedy": r.remedy.value}
