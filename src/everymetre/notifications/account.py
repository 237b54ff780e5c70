"""E-mails about a person's account rather than a claim: the password-reset link, the sign-up confirmation link,
and the notice that somebody tried to sign up with an address that already has an account.

They go through the same outbox and worker as claim news (written in the action's transaction, sent after
commit, retried, one Message-ID), by e-mail only: the link is the point, and it must reach the address's owner.
With no SMTP configured nothing is queued, and the caller says so where an operator can see it.
The body holds the one-time link until the message is sent (the link is single-use and expires within hours);
nothing else keeps it: the account tables keep only its SHA-256.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from everymetre.config import get_settings
from everymetre.notifications.models import Notification
from everymetre.notifications.outbox import message_id
from everymetre.notifications.texts import LANGUAGES, Text
from everymetre.store.bulk import insert_new_rows
from everymetre.store.types import utcnow

# {url} the link; {minutes} / {hours} how long it works; {signin} / {forgot} where to go instead
ACCOUNT_TEXTS: dict[str, dict[str, Text]] = {
    "password_reset": {
        "uk": Text("Новий пароль для everymetre",
                   "Щоб задати новий пароль, відкрийте це посилання (воно діє {minutes} хв і лише один раз):\n{url}\n\n"
                   "Якщо ви не просили змінити пароль, нічого не робіть: ваш пароль залишився тим самим.", ""),
        "en": Text("A new password for everymetre",
                   "To set a new password, open this link (it works for {minutes} minutes, once):\n{url}\n\n"
                   "If you did not ask for this, do nothing: your password has not changed.", ""),
    },
    "signup_confirm": {
        "uk": Text("Підтвердіть адресу, щоб завершити реєстрацію",
                   "Щоб завершити реєстрацію, відкрийте це посилання (воно діє {hours} год):\n{url}\n\n"
                   "Якщо ви не реєструвалися, нічого не робіть: обліковий запис не буде створено.", ""),
        "en": Text("Confirm your address to finish signing up",
                   "To finish signing up, open this link (it works for {hours} hours):\n{url}\n\n"
                   "If you did not sign up, do nothing: no account will be made.", ""),
    },
    "signup_exists": {
        "uk": Text("Спроба реєстрації з вашою адресою",
                   "Хтось (можливо, ви) намагався зареєструватися з цією адресою, але обліковий запис з нею вже є.\n"
                   "Увійти: {signin}\nЗабули пароль? Задайте новий: {forgot}\n\n"
                   "Якщо це були не ви, нічого не робіть: ваш обліковий запис не змінено.", ""),
        "en": Text("Someone tried to sign up with your address",
                   "Someone (perhaps you) tried to sign up with this address, but it already has an account.\n"
                   "Sign in: {signin}\nForgot your password? Set a new one: {forgot}\n\n"
                   "If it was not you, do nothing: your account has not changed.", ""),
    },
}


def enqueue_account_mail(session: Session, *, key: str, kind: str, email: str, language: str,
                         params: dict[str, object], user_id: int | None = None, now: datetime | None = None) -> bool:
    """Queue one e-mail of `kind` to `email` in the caller's transaction; False (nothing queued) when no SMTP
    server is configured. `key` names the cause: the same key never queues twice."""
    settings = get_settings()
    if not settings.smtp_url:
        return False
    now = now or utcnow()
    lang = language if language in LANGUAGES else "en"
    text = ACCOUNT_TEXTS[kind][lang]
    values = {k: str(v) for k, v in params.items()}
    key = f"account:{key}:email"[:200]
    row: dict[str, object] = dict(
        idempotency_key=key, user_id=user_id, person_id=None, claim_id=None, reference=None, channel="email",
        address=email, language=lang, kind=kind, subject=text.subject.format(**values)[:300],
        body=text.body.format(**values), params={}, status="pending", attempts=0, next_attempt_at=now,
        lease_until=None, lease_token=None, last_error=None, message_id=message_id(key), provider_id=None,
        created_at=now, sent_at=None)
    insert_new_rows(session, Notification.__table__, [row], ["idempotency_key"])  # as the outbox writes its rows
    return True


def site_url(path: str) -> str:
    """An absolute address on this service for a link in an e-mail (the public URL, else the local default)."""
    base = get_settings().public_url or "http://127.0.0.1:8000"
    return f"{base.rstrip('/')}{path}"
