"""Behind a proxy the sign-in throttle counts the client's address from X-Forwarded-For, but only when the request
comes from a proxy we believe (EVERYMETRE_FORWARDED_ALLOW_IPS): anyone else's header is ignored."""

from __future__ import annotations

import secrets

import httpx

LIMITS = {"EVERYMETRE_SIGNIN_MAX_FAILURES_ADDRESS": "2", "EVERYMETRE_SIGNIN_MAX_FAILURES": "1000"}


def _try(url: str, client_ip: str) -> int:
    r = httpx.post(f"{url}/api/v1/auth/token", headers={"X-Forwarded-For": client_ip}, timeout=30,
                   data={"username": f"{secrets.token_hex(4)}@nowhere.test", "password": "wrong"})
    return r.status_code


def _ip() -> str:
    return f"198.51.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"


def test_a_believed_proxy_gives_each_client_its_own_count_and_an_unknown_one_does_not(serve, db) -> None:
    # (db: the throttle's counts, 127.0.0.1's lock among them, are wiped after the test)
    trusting = serve(**LIMITS)  # the default: the proxy on this machine (127.0.0.1) is believed
    a, b = _ip(), _ip()
    assert [_try(trusting.url, a) for _ in range(3)] == [401, 401, 429]  # client a is locked out ...
    assert _try(trusting.url, b) == 401  # ... and client b, behind the same proxy, is not
    doubting = serve(EVERYMETRE_FORWARDED_ALLOW_IPS="", **LIMITS)  # nobody is believed: the header is ignored
    first = [_try(doubting.url, _ip()) for _ in range(3)]  # three "clients", one real address
    assert first[-1] == 429, first
