"""SMS: how many parts a text takes, and the gateway adapter.

A part holds 160 GSM-7 characters (the GSM 03.38 default alphabet; a character of its extension table takes
two) or, when any character is outside it (Cyrillic is), 70 UCS-2 characters. A longer text is sent in parts
of 153 GSM-7 / 67 UCS-2 characters, the rest of each part carrying the header that joins them."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" | "UCS-2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int
    per_part: int


def segments(text: str) -> Segments:
    """How the text is sent: its encoding, length in that encoding's units and number of parts."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, enc = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2  # characters beyond the BMP take two units
        single, multi, enc = 70, 67, "UCS-2"
    if units <= single:
        return Segments(enc, units, 1 if units else 0, single)
    return Segments(enc, units, -(-units // multi), multi)


class SmsError(Exception):
    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class SmsGateway:
    """An HTTP SMS gateway with TurboSMS's JSON API (POST {url} with a bearer token; body
    {"recipients": [...], "sms": {"sender", "text"}}; answer {"response_code", "response_result": [{"message_id"}]}).
    Codes 0-899 are accepted; 4xx answers and codes >= 900 for a bad number are permanent failures."""

    def __init__(self, url: str, key: str | None, sender: str, timeout: float = 15.0) -> None:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.url, self.sender = url, sender
        self.client = httpx.Client(timeout=timeout, headers=headers)

    def send(self, phone: str, text: str, ref: str) -> str:
        """Send `text` to `phone`; returns the gateway's message id."""
        number = "".join(ch for ch in phone if ch.isdigit())
        body = {"recipients": [number], "sms": {"sender": self.sender, "text": text}, "reference": ref}
        try:
            r = self.client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise SmsError(f"SMS gateway unreachable: {exc}") from exc
        if r.status_code >= 500 or r.status_code == 429:
            raise SmsError(f"SMS gateway answered {r.status_code}")
        if r.status_code >= 400:
            raise SmsError(f"SMS gateway refused the message: {r.status_code} {r.text[:200]}", permanent=True)
        try:
            answer = r.json()
            code = int(answer.get("response_code", 0))
            results = answer.get("response_result") or [{}]
            mid = str(results[0].get("message_id") or "")
        except (ValueError, AttributeError, TypeError) as exc:
            raise SmsError(f"SMS gateway answered something that is not its JSON: {r.text[:200]}") from exc
        if code >= 900:
            raise SmsError(f"SMS gateway refused the message: {answer.get('response_status', code)}", permanent=True)
        if code >= 300 and code < 800:
            raise SmsError(f"SMS gateway could not send: {answer.get('response_status', code)}")
        return mid

    def close(self) -> None:
        self.client.close()
