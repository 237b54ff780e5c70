"""Sign-in through an OpenID Connect provider (a state identity service such as BankID or Diia, or a staff
directory): the authorisation-code flow with PKCE (S256), `state` and `nonce`, through Authlib's OAuth2 client;
the ID token's signature checked against the provider's JWKS and its claims (issuer, audience, expiry, nonce)
with joserfc (Authlib's JOSE library).

Who signs in: the account linked to the provider's subject (`users.oidc_subject`, "<issuer>|<sub>"), else the
account with the provider's *verified* e-mail, which is then linked (audited, `user.oidc_linked`). A sign-in
never makes a staff account (an administrator does); it makes a claimant account only when the programme allows
it (`EVERYMETRE_OIDC_CREATE_CLAIMANTS`). Configured by `EVERYMETRE_OIDC_ISSUER`, `_CLIENT_ID`, `_CLIENT_SECRET`,
`_SCOPES`, `_LABEL` (config.py).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import hash_password, normalise_email
from everymetre.accounts.identity import verify_at_oidc_sign_in
from everymetre.accounts.models import User
from everymetre.accounts.roles import Role
from everymetre.accounts.sessions import PAGE, open_session
from everymetre.audit.record import record, user_chain
from everymetre.config import Settings
from everymetre.kernel.errors import Forbidden, Unauthenticated, ValidationFailed
from everymetre.store.tx import atomic

ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]
TIMEOUT = httpx.Timeout(10.0)
_CACHE: dict[str, tuple[float, dict[str, Any]]] = {}  # discovery and JWKS documents, per URL, an hour
CACHE_SECONDS = 3600


def enabled(settings: Settings) -> bool:
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def _get_json(url: str, fresh: bool = False) -> dict[str, Any]:
    now = time.monotonic()
    hit = _CACHE.get(url)
    if hit and not fresh and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    try:
        response = httpx.get(url, timeout=TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        doc = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unauthenticated(f"The identity provider did not answer ({url}): {exc}") from None
    _CACHE[url] = (now, doc)
    return doc


def metadata(settings: Settings) -> dict[str, Any]:
    """The provider's discovery document; its issuer must be the configured one (RFC 8414 / OIDC Discovery)."""
    issuer = settings.oidc_issuer or ""
    doc = _get_json(f"{issuer}/.well-known/openid-configuration")
    if doc.get("issuer") != issuer:
        raise Unauthenticated(f"The identity provider calls itself {doc.get('issuer')!r}, not {issuer!r}.")
    return doc


def _client(settings: Settings, redirect_uri: str) -> OAuth2Client:
    return OAuth2Client(client_id=settings.oidc_client_id, client_secret=settings.oidc_client_secret,
                        scope=settings.oidc_scopes, redirect_uri=redirect_uri, code_challenge_method="S256",
                        timeout=TIMEOUT, token_endpoint_auth_method="client_secret_basic")


@dataclass(frozen=True, slots=True)
class Pending:
    """What the callback must see again: kept in a signed, short-lived cookie between the two requests."""

    state: str
    nonce: str
    verifier: str
    next: str

    def as_dict(self) -> dict[str, str]:
        return {"s": self.state, "n": self.nonce, "v": self.verifier, "x": self.next}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Pending:
        return cls(str(d["s"]), str(d["n"]), str(d["v"]), str(d.get("x") or ""))


def start(settings: Settings, redirect_uri: str, next_path: str) -> tuple[str, Pending]:
    """The provider's authorisation URL (code flow, PKCE S256, state, nonce) and what the callback checks."""
    pending = Pending(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48), next_path)
    with _client(settings, redirect_uri) as client:
        url, _ = client.create_authorization_url(metadata(settings)["authorization_endpoint"], state=pending.state,
                                                 nonce=pending.nonce, code_verifier=pending.verifier)
    return url, pending


def verify_id_token(settings: Settings, id_token: str, nonce: str, keys: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ID token's claims after checking its signature against the provider's JWKS (fetched again once when
    the key is unknown: the provider rotated its keys) and its issuer, audience, expiry and nonce."""
    def decode(jwks: dict[str, Any]) -> Any:
        return jwt.decode(id_token, KeySet.import_key_set(jwks), algorithms=ALGORITHMS)  # type: ignore[arg-type]

    try:
        if keys is not None:
            token = decode(keys)
        else:
            uri = metadata(settings)["jwks_uri"]
            try:
                token = decode(_get_json(uri))
            except JoseError:
                token = decode(_get_json(uri, fresh=True))
    except (JoseError, ValueError) as exc:
        raise Unauthenticated(f"The identity provider's ID token is not valid: {exc}") from None
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(iss={"essential": True, "value": settings.oidc_issuer or ""},
                                     aud={"essential": True, "value": settings.oidc_client_id or ""},
                                     sub={"essential": True}, exp={"essential": True},
                                     nonce={"essential": True, "value": nonce}, leeway=60)
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise Unauthenticated(f"The identity provider's ID token is not for this sign-in: {exc}") from None
    aud = claims.get("aud")
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != settings.oidc_client_id:
        raise Unauthenticated("The ID token was issued to another party (azp).")
    return claims


def finish(settings: Settings, redirect_uri: str, pending: Pending, params: dict[str, str]) -> dict[str, Any]:
    """Check the callback's state, exchange the code (with the PKCE verifier) and return the ID token's claims."""
    if not hmac.compare_digest(params.get("state", ""), pending.state):
        raise ValidationFailed("The sign-in's state does not match: start the sign-in again.", field="state")
    if params.get("error"):
        raise Unauthenticated(f"The identity provider refused the sign-in: {params['error']}")
    if not params.get("code"):
        raise ValidationFailed("The identity provider sent no code.", field="code")
    with _client(settings, redirect_uri) as client:
        try:
            token = client.fetch_token(metadata(settings)["token_endpoint"], code=params["code"],
                                       code_verifier=pending.verifier, grant_type="authorization_code")
        except Exception as exc:  # Authlib raises its OAuthError or httpx's errors: both mean "no token"
            raise Unauthenticated(f"The identity provider did not give a token: {exc}") from None
        if not token.get("id_token"):
            raise Unauthenticated("The identity provider gave no ID token (is the scope 'openid' asked for?).")
        claims = verify_id_token(settings, token["id_token"], pending.nonce)
        if "email" not in claims and (endpoint := metadata(settings).get("userinfo_endpoint")):
            claims = {**_userinfo(client, endpoint, claims["sub"]), **claims}
    return claims


def _userinfo(client: OAuth2Client, endpoint: str, sub: str) -> dict[str, Any]:
    """The e-mail and name from the UserInfo endpoint (providers that keep the ID token small); its `sub` must be
    the ID token's (OIDC Core 5.3.2)."""
    try:
        response = client.get(endpoint)
        response.raise_for_status()
        info = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unauthenticated(f"The identity provider's UserInfo did not answer: {exc}") from None
    if not isinstance(info, dict) or info.get("sub") != sub:
        raise Unauthenticated("The identity provider's UserInfo is about someone else.")
    return {k: info[k] for k in ("email", "email_verified", "name") if k in info}


def _verified_email(claims: dict[str, Any]) -> str | None:
    if claims.get("email") and claims.get("email_verified") is True:
        try:
            return normalise_email(str(claims["email"]))
        except ValidationFailed:
            return None
    return None


def do_oidc_sign_in(session: Session, settings: Settings, claims: dict[str, Any]) -> tuple[User, str]:
    """The account these verified claims sign in to, and a new page session for it (one transaction; linking
    a subject or making a claimant account is audited on the account's trail)."""
    subject = f"{claims['iss']}|{claims['sub']}"
    email = _verified_email(claims)
    with atomic(session):
        user = session.scalar(select(User).where(User.oidc_subject == subject))
        if user is None and email is not None:
            user = session.scalar(select(User).where(User.email == email))
            if user is not None:
                if user.oidc_subject is not None:
                    raise Forbidden("This account signs in with another identity-provider account.")
                user.oidc_subject = subject
                session.flush()
                record(session, user_chain(user.id), "user.oidc_linked", user.id, {"issuer": claims["iss"]})
        if user is None:
            if email is None or not settings.oidc_create_claimants:
                raise Forbidden("There is no account for this person here. Staff accounts are made by an "
                                "administrator.")
            user = User(email=email, password_hash=hash_password(secrets.token_urlsafe(32)), role=Role.CLAIMANT.value,
                        full_name=str(claims.get("name") or "")[:200], oidc_subject=subject)
            session.add(user)
            session.flush()
            record(session, user_chain(user.id), "user.created", None,
                   {"after": {"email": email, "role": "claimant", "oblasts": [], "all_oblasts": False},
                    "through": "oidc"})
        if not user.is_active:
            raise Forbidden("This account is closed.")
        verify_at_oidc_sign_in(session, settings, user, claims)
        sid = open_session(session, user.id, PAGE, settings.session_minutes)
    return user, sid
