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


def test_an_idle_keep_alive_connection_outlives_the_clients_own_limit(serve) -> None:
    """httpx drops an idle connection after 5 s, nginx's upstream after 60 s; uvicorn's default was 5 s, so a
    client could send into a connection the server was closing (the soak's dropped connections). The server
    keeps it EVERYMETRE_KEEPALIVE_SECONDS (75) instead: a request after 6 idle seconds is answered."""
    import http.client
    import time
    from urllib.parse import urlsplit

    server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", urlsplit(server.url).port, timeout=10)
    try:
        for pause in (0, 6):
            time.sleep(pause)
            conn.request("GET", "/api/v1/health/live")  # the same connection: RemoteDisconnected if it was closed
            r = conn.getresponse()
            assert r.status == 200 and r.read() and conn.sock is not None
    finally:
        conn.close()
