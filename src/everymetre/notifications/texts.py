"""What a notification says, in Ukrainian and English: plain words, the claim's reference, what to do and by
when. One entry per kind: a subject, the e-mail/inbox body and a short SMS text (sms.segments counts it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from everymetre.rules.money import format_uah, format_uah_uk

LANGUAGES = ("uk", "en")

_MONTHS_UK = ("січня", "лютого", "березня", "квітня", "травня", "червня", "липня", "серпня", "вересня",
              "жовтня", "листопада", "грудня")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
              "November", "December")


def format_day(value: date | str, lang: str) -> str:
    """`2026-03-12` -> "12 березня 2026 р." (uk) or "12 March 2026" (en)."""
    d = date.fromisoformat(value) if isinstance(value, str) else value
    if lang == "uk":
        return f"{d.day} {_MONTHS_UK[d.month - 1]} {d.year} р."
    return f"{d.day} {_MONTHS_EN[d.month - 1]} {d.year}"


def format_money(kopiykas: int | None, lang: str) -> str:
    if kopiykas is None:
        return "—"
    return format_uah_uk(kopiykas) if lang == "uk" else format_uah(kopiykas)


@dataclass(frozen=True)
class Text:
    subject: str
    body: str
    sms: str


# {ref} the claim's reference; {date}, {deadline}, {until} days; {amount} money; {documents} a list; {number}
# a certificate number; {days} whole days; {url} where to read more.
TEXTS: dict[str, dict[str, Text]] = {
    "submitted": {
        "uk": Text("Заяву {ref} прийнято",
                   "Вашу заяву {ref} прийнято. Її розглянуть протягом 30 днів.\n"
                   "Нічого робити не потрібно: ми повідомимо, якщо знадобляться документи.",
                   "Заяву {ref} прийнято. Розгляд до 30 днів. Стежте за повідомленнями."),
        "en": Text("Claim {ref} received",
                   "Your claim {ref} has been received. It will be considered within 30 days.\n"
                   "You need not do anything now: we will tell you if documents are needed.",
                   "Claim {ref} received. Decision within 30 days. Watch for messages."),
    },
    "documents_requested": {
        "uk": Text("Заява {ref}: потрібні документи до {deadline}",
                   "Розгляд заяви {ref} зупинено: потрібні документи.\n"
                   "Що подати: {documents}.\n"
                   "До якого дня: {deadline}. Додайте їх на сторінці заяви або в ЦНАП.\n"
                   "Якщо не подати до цього дня, заяву розглянуть з тим, що є.",
                   "Заява {ref}: подайте {documents} до {deadline}."),
        "en": Text("Claim {ref}: documents needed by {deadline}",
                   "Work on your claim {ref} is paused: documents are needed.\n"
                   "What to send: {documents}.\n"
                   "By: {deadline}. Add them on the claim's page or at a service centre (CNAP).\n"
                   "If they do not arrive by then, the claim is decided on what it has.",
                   "Claim {ref}: send {documents} by {deadline}."),
    },
    "deadline_reminder": {
        "uk": Text("Заява {ref}: залишилось {days} дн. подати документи",
                   "Нагадуємо: для заяви {ref} потрібні документи: {documents}.\n"
                   "Останній день: {deadline} (залишилось {days} дн.). Додайте їх на сторінці заяви або в ЦНАП.",
                   "Заява {ref}: документи до {deadline}, залишилось {days} дн."),
        "en": Text("Claim {ref}: {days} day(s) left to send documents",
                   "A reminder: your claim {ref} needs documents: {documents}.\n"
                   "Last day: {deadline} ({days} day(s) left). Add them on the claim's page or at a service centre.",
                   "Claim {ref}: documents due {deadline}, {days} day(s) left."),
    },
    "resumed": {
        "uk": Text("Заява {ref}: розгляд продовжено",
                   "Розгляд заяви {ref} продовжено. Нічого робити не потрібно.",
                   "Заява {ref}: розгляд продовжено."),
        "en": Text("Claim {ref}: work has resumed",
                   "Work on your claim {ref} has resumed. You need not do anything.",
                   "Claim {ref}: work has resumed."),
    },
    "inspection_scheduled": {
        "uk": Text("Заява {ref}: обстеження {date}",
                   "Житло за заявою {ref} обстежать {date}.\n"
                   "Будьте вдома або домовтеся, щоб інспектора впустили. Якщо дата не підходить, повідомте в ЦНАП.",
                   "Заява {ref}: обстеження житла {date}. Будьте вдома."),
        "en": Text("Claim {ref}: inspection on {date}",
                   "Your home (claim {ref}) will be inspected on {date}.\n"
                   "Be at home or arrange for the inspector to be let in. If the date does not suit you, tell a service centre.",
                   "Claim {ref}: inspection on {date}. Please be at home."),
    },
    "assessed": {
        "uk": Text("Заява {ref}: розраховано суму",
                   "Для заяви {ref} розраховано суму компенсації: {amount}.\n"
                   "Тепер рішення ухвалить комісія. Нічого робити не потрібно.",
                   "Заява {ref}: розраховано {amount}. Далі рішення комісії."),
        "en": Text("Claim {ref}: amount assessed",
                   "The compensation for your claim {ref} has been assessed at {amount}.\n"
                   "The commission will now decide. You need not do anything.",
                   "Claim {ref}: assessed at {amount}. The commission decides next."),
    },
    "approved": {
        "uk": Text("Заява {ref}: компенсацію призначено, {amount}",
                   "Комісія призначила компенсацію за заявою {ref}: {amount}.\n"
                   "Гроші надійдуть на спеціальний рахунок; ми повідомимо.\n"
                   "Якщо не згодні, оскаржте рішення до {until} на сторінці заяви, або до суду.",
                   "Заява {ref}: призначено {amount}. Оскаржити можна до {until}."),
        "en": Text("Claim {ref}: compensation awarded, {amount}",
                   "The commission awarded {amount} on your claim {ref}.\n"
                   "The money will be paid to a special account; we will tell you.\n"
                   "If you disagree, appeal by {until} on the claim's page, or go to court.",
                   "Claim {ref}: {amount} awarded. Appeal by {until} if you disagree."),
    },
    "rejected": {
        "uk": Text("Заява {ref}: у компенсації відмовлено",
                   "Комісія відмовила в компенсації за заявою {ref}.\nПричина: {reasons}\n"
                   "Якщо не згодні, оскаржте рішення до {until} на сторінці заяви, або до суду.",
                   "Заява {ref}: відмова. Оскаржити можна до {until}."),
        "en": Text("Claim {ref}: compensation refused",
                   "The commission refused compensation on your claim {ref}.\nReason: {reasons}\n"
                   "If you disagree, appeal by {until} on the claim's page, or go to court.",
                   "Claim {ref}: refused. Appeal by {until} if you disagree."),
    },
    "upheld": {
        "uk": Text("Заява {ref}: скаргу розглянуто, рішення без змін",
                   "Комісія розглянула вашу скаргу щодо заяви {ref} і залишила рішення без змін ({amount}).\n"
                   "Якщо не згодні, можна звернутися до суду.",
                   "Заява {ref}: скаргу розглянуто, рішення без змін."),
        "en": Text("Claim {ref}: appeal decided, decision stands",
                   "The commission considered your appeal on claim {ref} and left the decision as it was ({amount}).\n"
                   "If you disagree, you can go to court.",
                   "Claim {ref}: appeal decided, the decision stands."),
    },
    "revised": {
        "uk": Text("Заява {ref}: рішення переглянуто, {amount}",
                   "Комісія переглянула рішення щодо заяви {ref}: нова сума {amount}.\n"
                   "Якщо не згодні, можна звернутися до суду.",
                   "Заява {ref}: рішення переглянуто, нова сума {amount}."),
        "en": Text("Claim {ref}: decision revised, {amount}",
                   "The commission revised the decision on claim {ref}: the new amount is {amount}.\n"
                   "If you disagree, you can go to court.",
                   "Claim {ref}: decision revised, new amount {amount}."),
    },
    "payment_sent": {
        "uk": Text("Заява {ref}: гроші відправлено, {amount}",
                   "За заявою {ref} відправлено {amount} на ваш спеціальний рахунок. Банк зарахує їх за кілька днів.",
                   "Заява {ref}: відправлено {amount}."),
        "en": Text("Claim {ref}: money sent, {amount}",
                   "{amount} has been sent to your special account for claim {ref}. The bank will credit it within days.",
                   "Claim {ref}: {amount} sent."),
    },
    "payment_booked": {
        "uk": Text("Заява {ref}: гроші зараховано, {amount}",
                   "Банк зарахував {amount} за заявою {ref}. Витратити їх можна на ремонт у підрядників програми.",
                   "Заява {ref}: зараховано {amount}."),
        "en": Text("Claim {ref}: money credited, {amount}",
                   "The bank has credited {amount} for claim {ref}. Spend it on repairs with the programme's contractors.",
                   "Claim {ref}: {amount} credited."),
    },
    "payment_returned": {
        "uk": Text("Заява {ref}: банк повернув платіж",
                   "Банк повернув платіж {amount} за заявою {ref}: рахунок не прийнято. Вкажіть новий рахунок "
                   "eRecovery на сторінці заяви (або в ЦНАП); після цього гроші відправлять знову.",
                   "Заява {ref}: платіж повернено. Перевірте рахунок."),
        "en": Text("Claim {ref}: the bank returned the payment",
                   "The bank returned the payment of {amount} for claim {ref}: the account was not accepted. Give a "
                   "new eRecovery account on the claim's page (or at a service centre); the money is then sent again.",
                   "Claim {ref}: payment returned. Check your account."),
    },
    "certificate_issued": {
        "uk": Text("Заява {ref}: житловий сертифікат {number}",
                   "Вам видано житловий сертифікат {number} на {amount} (заява {ref}).\n"
                   "Використайте його до {until}: оберіть житло і зверніться до банку.",
                   "Сертифікат {number}: {amount}, діє до {until}."),
        "en": Text("Claim {ref}: housing certificate {number}",
                   "You have been issued housing certificate {number} worth {amount} (claim {ref}).\n"
                   "Use it by {until}: choose a home and go to your bank.",
                   "Certificate {number}: {amount}, valid until {until}."),
    },
    "certificate_reserved": {
        "uk": Text("Сертифікат {number}: кошти зарезервовано",
                   "Кошти за сертифікатом {number} (заява {ref}) зарезервовано. Підпишіть договір купівлі до {until}.",
                   "Сертифікат {number}: резерв до {until}. Підпишіть договір."),
        "en": Text("Certificate {number}: funds reserved",
                   "The funds of certificate {number} (claim {ref}) are reserved. Sign the purchase contract by {until}.",
                   "Certificate {number}: reserved until {until}. Sign the contract."),
    },
    "certificate_lapsed": {
        "uk": Text("Сертифікат {number}: строк минув",
                   "Строк сертифіката {number} (заява {ref}) або його резерву минув. Зверніться до ЦНАП, щоб дізнатися, що далі.",
                   "Сертифікат {number}: строк минув. Зверніться до ЦНАП."),
        "en": Text("Certificate {number}: time ran out",
                   "The time for certificate {number} (claim {ref}) or its reservation has run out. Ask a service centre what to do next.",
                   "Certificate {number}: time ran out. Ask a service centre."),
    },
    "certificate_revoked": {
        "uk": Text("Сертифікат {number} скасовано",
                   "Житловий сертифікат {number} (заява {ref}) скасовано: рішення за вашою заявою змінено після "
                   "оскарження, і компенсація за ним більше не належить. Бронювання житла з цим сертифікатом "
                   "скасовано, зарезервовані кошти повернуто. Рішення можна оскаржити в суді; подробиці — на "
                   "сторінці заяви або в ЦНАП.",
                   "Сертифікат {number} скасовано: рішення змінено після оскарження. Деталі в ЦНАП."),
        "en": Text("Certificate {number} revoked",
                   "Housing certificate {number} (claim {ref}) has been revoked: the decision on your claim was "
                   "overturned on appeal, so the compensation is no longer due. Any booking of a home with it is "
                   "cancelled and the reserved funds returned. You may challenge the decision in court; see the "
                   "claim's page or a service centre.",
                   "Certificate {number} revoked: decision overturned on appeal. Ask a service centre."),
    },
    "reservation_escalated": {  # to the notary who filed the booking ({ref} the reservation's number)
        "uk": Text("Бронювання № {ref}: кошти не підтверджено вчасно",
                   "Бронювання № {ref} (сертифікати {number}) не підтверджено до {until}, за 5 робочих днів: у "
                   "платіжного агента бракує коштів. Справу передано службі виплат; бронювання лишається в черзі й "
                   "буде підтверджене, щойно надійдуть кошти. Договір не підписуйте до підтвердження.",
                   "Бронювання № {ref}: не підтверджено до {until}, передано службі виплат."),
        "en": Text("Reservation {ref}: funds not confirmed in time",
                   "Reservation {ref} (certificates {number}) was not confirmed by {until}, within 5 working days: the "
                   "paying agent is short of funds. It has been escalated to the payments office; the booking keeps its "
                   "place in the queue and is confirmed as soon as funds arrive. Do not sign the contract before then.",
                   "Reservation {ref}: not confirmed by {until}, escalated to the payments office."),
    },
    "certificate_replaced": {
        "uk": Text("Сертифікат {number} замінено новим",
                   "Житловий сертифікат {number} (заява {ref}) більше не діє: після оскарження рішення змінено, і "
                   "вам видано новий сертифікат на нову суму (окреме повідомлення). Користуйтеся новим; "
                   "бронювання зі старим скасовано.",
                   "Сертифікат {number} замінено новим після оскарження. Користуйтеся новим."),
        "en": Text("Certificate {number} replaced",
                   "Housing certificate {number} (claim {ref}) is no longer valid: the decision was revised on "
                   "appeal and a new certificate for the new amount has been issued to you (a separate message). "
                   "Use the new one; any booking with the old one is cancelled.",
                   "Certificate {number} replaced after appeal. Use the new one."),
    },
}


def render(kind: str, lang: str, params: dict[str, Any]) -> Text:
    """The texts of `kind` in `lang` (English when the language is not one we write in), filled in."""
    lang = lang if lang in LANGUAGES else "en"
    values = _values(params, lang)
    t = TEXTS[kind][lang]
    return Text(t.subject.format(**values), t.body.format(**values), t.sms.format(**values))


def _values(params: dict[str, Any], lang: str) -> dict[str, str]:
    out = {k: str(v) for k, v in params.items()}
    for key in ("date", "deadline", "until"):
        if params.get(key):
            out[key] = format_day(params[key], lang)
    if "amount" in params:
        out["amount"] = format_money(params["amount"], lang)
    if "documents" in params:
        out["documents"] = "; ".join(params["documents"] or []) or "—"
    out.setdefault("reasons", "—")
    return out
