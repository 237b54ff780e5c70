"""The authorisation matrix: every role x every API route and page, generated from the permission table
(`accounts.permissions.PERMISSIONS`) and the app's routes.

Each route has one entry below: the permission-table action that governs it (its roles come from the table, so
a change to the table changes what is asserted), or the roles written out where a route is governed by
something else (the lifecycle's moves, "any signed-in user", "public"). Every role is tried on every route
against in-scope and out-of-scope claims (an officer of Kharkiv oblast and one of Lviv oblast) and own and
other's claims (two claimants), and the answer must be a refusal (API 401/403/404, pages the sign-in redirect
or 403/404) exactly where the matrix says so. Writes by read-only roles must be refused with 403.

Adding a route without an entry here fails `test_every_route_has_an_entry`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from everymetre.accounts.permissions import PERMISSIONS, Action, Scope
from everymetre.accounts.roles import Role
from everymetre.kernel.iban import make_ua_iban
from tests.conftest import STAFF
from tests.factories import REPRESENTATIVE, claim_body, jpeg_with_exif, owner

API = "/api/v1"
ROLES = ("anonymous", "citizen", "citizen2", "officer", "officer_lviv", "inspector", "commission", "payments",
         "auditor", "admin", "notary")
STAFF_KEYS = frozenset({"officer", "officer_lviv", "inspector", "commission", "payments", "auditor", "admin"})
CLAIMANTS = frozenset({"citizen", "citizen2"})
SIGNED_IN = frozenset(ROLES) - {"anonymous"}
EVERYONE = frozenset(ROLES)
# Scope of the world's claims: all in Kharkiv oblast, filed by "citizen" (own) and not by "citizen2" (other's).
# (the notary filed the world's reservation: their own filing)
IN_SCOPE = frozenset({"officer", "inspector", "commission", "payments", "auditor", "admin", "notary"})  # Kharkiv or national
READ_ONLY_WRITERS = {"auditor", "admin", "payments", "commission"}  # for claims and evidence


def role_of(key: str) -> Role | None:
    return None if key == "anonymous" else Role(STAFF[key][1])


def by_table(action: Action, *, party: bool = True, scoped_list: bool = False) -> frozenset[str]:
    """The role keys the permission table lets take `action` on a Kharkiv claim filed by "citizen" (a scoped
    list: every role the table names may ask, and sees only what is in its scope)."""
    rule = PERMISSIONS[action]
    if scoped_list:
        return frozenset(k for k in SIGNED_IN if role_of(k) in rule.roles)
    out = set()
    for key in SIGNED_IN:
        role = role_of(key)
        if role not in rule.roles:
            continue
        if role is Role.CLAIMANT:
            if rule.scope is Scope.PARTY_OR_OBLAST and not (party and key == "citizen"):
                continue
        elif rule.scope is not Scope.NONE and key not in IN_SCOPE:
            continue
        out.add(key)
    return frozenset(out)


@dataclass
class Entry:
    allow: frozenset[str]
    url: Callable[[World], str]
    body: Callable[[World, str], dict[str, Any]] = lambda w, k: {}
    page: bool = False
    files: bool = False  # send a photo as multipart
    why: str = ""
    readonly_403: bool = False  # read-only roles must get exactly 403 (API) / the 403 page
    public: bool = False  # no sign-in: 401 there is an answer (wrong password), not a refusal
    same_for_all: bool = False  # public read-only data: every role, signed in or not, gets the same answer


@dataclass
class World:
    own: str = ""  # a claim of citizen's in Kharkiv oblast, state auto_checked
    moving: dict[str, str] = field(default_factory=dict)  # per moving route: a claim of its own (state changes)
    assessed: str = ""
    evidence_id: int = 0
    draft_id: int = 0
    finding_id: int = 0
    batch_id: int = 0
    batch_total: int = 0
    certificate: str = ""
    certificate_claim: str = ""
    repair_claim: str = ""  # citizen's, with a tier B repair payout whose interim report is filed
    repair_report: int = 0
    statement_upload: int = 0  # a bank statement with one entry no payment matches
    statement_entry: int = 0
    certificate_born: str = ""
    revocable: str = ""
    reservation_id: int = 0
    discard_draft: int = 0
    staff_id: int = 0  # an account the admin pages act on (changed to what it is: nothing changes)
    service_client: str = ""  # an integrator's client id (its secret rotated; never revoked: not confirmed)
    represented: str = ""  # a claim citizen filed as a representative, its power of attorney unchecked
    versions: dict[str, int] = field(default_factory=dict)


def reservation_body(w: World) -> dict[str, Any]:
    return {"certificates": [{"number": w.certificate, "holder_rnokpp": "1234567899"}], "seller_name": "Бойко Андрій",
            "seller_rnokpp": "1234567899", "seller_iban": "UA213223130000026007233566001", "property_registry_number": "1",
            "property_address": "Київ", "property_katottg": "UA80000000000093317", "property_area_m2": "50.00",
            "property_kind": "apartment", "price_kopiykas": 150_000_000}


def _v(w: World, ref: str) -> int:
    return w.versions.get(ref, 1)


def move_body(to: str, which: str) -> Callable[[World, str], dict[str, Any]]:
    return lambda w, k: {"to": to, "reason": "matrix", "expected_version": _v(w, w.moving[which])}


FILE = {"kind": "photo"}
MATRIX_IBAN = make_ua_iban("305299", 26_000_777)
P = lambda path: (lambda w: path)  # noqa: E731


def _matrix() -> dict[tuple[str, str], Entry]:
    T = Action
    claim_readers = by_table(T.CLAIM_READ)
    m: dict[tuple[str, str], Entry] = {
        # ---------------------------------------------------------------- public: no sign-in needed
        ("GET", "/openapi.json"): Entry(EVERYONE, P("/openapi.json"), why="public"),
        ("GET", f"{API}/health"): Entry(EVERYONE, P(f"{API}/health"), why="public"),
        ("POST", f"{API}/auth/token"): Entry(EVERYONE, P(f"{API}/auth/token"), why="public (wrong password: 401 is the answer, not a refusal)"),
        ("POST", f"{API}/token"): Entry(EVERYONE, P(f"{API}/token"), why="public (client credentials: a wrong client is 401)"),
        ("POST", f"{API}/auth/password-reset"): Entry(EVERYONE, P(f"{API}/auth/password-reset"), lambda w, k: {"email": f"{k}@nowhere.test"}, why="public"),
        ("POST", f"{API}/auth/password-reset/confirm"): Entry(EVERYONE, P(f"{API}/auth/password-reset/confirm"), lambda w, k: {"token": "x" * 40, "new_password": "y" * 12}, why="public"),
        # ---------------------------------------------------------------- any signed-in user, their own account
        ("POST", f"{API}/auth/revoke"): Entry(SIGNED_IN, P(f"{API}/auth/revoke"), why="signed in (a token of its own)"),
        ("POST", f"{API}/auth/password"): Entry(SIGNED_IN, P(f"{API}/auth/password"), lambda w, k: {"current_password": "not the password", "new_password": "z" * 12}, why="signed in"),
        # ---------------------------------------------------------------- claims (permission table)
        ("POST", f"{API}/claims"): Entry(by_table(T.CLAIM_FILE) | {"citizen2"}, P(f"{API}/claims"), lambda w, k: claim_body(), why="claim.file (a claimant files their own)", readonly_403=True),
        ("GET", f"{API}/claims"): Entry(SIGNED_IN, P(f"{API}/claims"), why="a list scoped to the caller"),
        ("GET", f"{API}/claims/{{reference}}"): Entry(claim_readers, lambda w: f"{API}/claims/{w.own}", why="claim.read"),
        ("POST", f"{API}/claims/{{reference}}/transitions"): Entry(frozenset({"officer"}), lambda w: f"{API}/claims/{w.moving['api']}/transitions", move_body("assigned", "api"), why="lifecycle: only an officer takes a claim", readonly_403=True),
        ("GET", f"{API}/claims/{{reference}}/assessment"): Entry(claim_readers, lambda w: f"{API}/claims/{w.assessed}/assessment", why="claim.read"),
        ("GET", f"{API}/claims/{{reference}}/events"): Entry(claim_readers, lambda w: f"{API}/claims/{w.own}/events", why="claim.read (claimants: filtered)"),
        ("POST", f"{API}/claims/{{reference}}/evidence"): Entry(by_table(T.EVIDENCE_ADD), lambda w: f"{API}/claims/{w.own}/evidence", lambda w, k: FILE, files=True, why="evidence.add", readonly_403=True),
        ("GET", f"{API}/claims/{{reference}}/evidence"): Entry(by_table(T.EVIDENCE_READ), lambda w: f"{API}/claims/{w.own}/evidence", why="evidence.read"),
        ("GET", f"{API}/claims/{{reference}}/evidence/{{evidence_id}}"): Entry(by_table(T.EVIDENCE_READ), lambda w: f"{API}/claims/{w.own}/evidence/{w.evidence_id}", why="evidence.read"),
        ("GET", f"{API}/claims/{{reference}}/payout"): Entry(by_table(T.PAYOUT_READ), lambda w: f"{API}/claims/{w.certificate_claim}/payout", why="payout.read"),
        ("GET", f"{API}/certificates/{{number}}"): Entry(by_table(T.PAYOUT_READ), lambda w: f"{API}/certificates/{w.certificate}", why="payout.read"),
        ("GET", f"{API}/claims/{{reference}}/payout-account"): Entry(claim_readers, lambda w: f"{API}/claims/{w.own}/payout-account", why="claim.read (masked)"),
        ("PUT", f"{API}/claims/{{reference}}/payout-account"): Entry(by_table(T.PAYOUT_ACCOUNT_SET), lambda w: f"{API}/claims/{w.own}/payout-account", lambda w, k: {"iban": MATRIX_IBAN, "bank_code": "305299"}, why="payout_account.set", readonly_403=True),
        ("POST", f"{API}/claims/{{reference}}/power-of-attorney"): Entry(by_table(T.POWER_OF_ATTORNEY_CHECK), lambda w: f"{API}/claims/{w.represented}/power-of-attorney", lambda w, k: {"accept": False, "reason": "matrix"}, why="power_of_attorney.check (409 once checked)", readonly_403=True),
        ("PUT", f"{API}/claims/{{reference}}/representative"): Entry(by_table(T.POWER_OF_ATTORNEY_REPLACE), lambda w: f"{API}/claims/{w.represented}/representative", lambda w, k: REPRESENTATIVE, why="power_of_attorney.replace (409: unchecked and valid, nothing to replace)", readonly_403=True),
        ("GET", f"{API}/me/identity"): Entry(by_table(T.IDENTITY_VERIFY), P(f"{API}/me/identity"), why="identity.verify: claimants, their own account"),
        ("POST", f"{API}/me/identity"): Entry(by_table(T.IDENTITY_VERIFY), P(f"{API}/me/identity"), lambda w, k: {"rnokpp": "2935745002", "birth_date": "1980-05-17"}, why="identity.verify (422: no such record)", readonly_403=True),
        ("POST", f"{API}/claims/{{reference}}/award-approval"): Entry(by_table(T.AWARD_APPROVE), lambda w: f"{API}/claims/{w.own}/award-approval", lambda w, k: {"approve": True, "reason": "matrix"}, why="award.approve (409: no award waits)", readonly_403=True),
        # ---------------------------------------------------------------- linkage
        ("GET", f"{API}/findings"): Entry(by_table(T.FINDING_READ, scoped_list=True), P(f"{API}/findings"), why="finding.read"),
        ("GET", f"{API}/findings/{{finding_id}}"): Entry(by_table(T.FINDING_READ), lambda w: f"{API}/findings/{w.finding_id}", why="finding.read"),
        ("POST", f"{API}/findings/{{finding_id}}/review"): Entry(by_table(T.FINDING_REVIEW), lambda w: f"{API}/findings/{w.finding_id}/review", lambda w, k: {"decision": "match", "note": "matrix"}, why="finding.review", readonly_403=True),
        ("POST", f"{API}/findings/{{finding_id}}/override"): Entry(by_table(T.FINDING_OVERRIDE), lambda w: f"{API}/findings/{w.finding_id}/override", lambda w, k: {"reason": "matrix: repeat damage after repair"}, why="finding.override (409 once overridden)", readonly_403=True),
        # ---------------------------------------------------------------- payments
        ("GET", f"{API}/payment-batches"): Entry(by_table(T.BATCH_READ), P(f"{API}/payment-batches"), why="batch.read"),
        ("GET", f"{API}/payment-batches/{{batch_id}}"): Entry(by_table(T.BATCH_READ), lambda w: f"{API}/payment-batches/{w.batch_id}", why="batch.read"),
        # the world's claims have no decision document: nobody gets one (the PDF's own rights: test_decision_pdf.py)
        ("GET", f"{API}/claims/{{reference}}/decision.pdf"): Entry(frozenset(), lambda w: f"{API}/claims/{w.own}/decision.pdf", why="no document yet"),
        # ---------------------------------------------------------------- notifications, workload
        ("GET", f"{API}/me/notifications"): Entry(SIGNED_IN, P(f"{API}/me/notifications"), why="one's own inbox"),
        ("GET", f"{API}/me/notification-channels"): Entry(SIGNED_IN, P(f"{API}/me/notification-channels"), why="one's own choices"),
        ("PUT", f"{API}/me/notification-channels"): Entry(SIGNED_IN, P(f"{API}/me/notification-channels"), lambda w, k: {"email": True, "sms": True}, why="one's own choices"),
        ("GET", f"{API}/claims/{{reference}}/notifications"): Entry(claim_readers, lambda w: f"{API}/claims/{w.own}/notifications", why="claim.read"),
        ("GET", f"{API}/claims/{{reference}}/inspectors"): Entry(by_table(T.INSPECTOR_ASSIGN), lambda w: f"{API}/claims/{w.own}/inspectors", why="inspector.assign"),
        ("POST", f"{API}/claims/{{reference}}/inspector"): Entry(by_table(T.INSPECTOR_ASSIGN), lambda w: f"{API}/claims/{w.own}/inspector", lambda w, k: {"inspector": "inspector@test.org", "expected_version": _v(w, w.own)}, why="inspector.assign (409: the claim is not waiting for an inspection)", readonly_403=True),
        ("GET", f"{API}/inspections"): Entry(by_table(T.INSPECTIONS_READ, scoped_list=True), P(f"{API}/inspections"), why="inspections.read"),
        # ---------------------------------------------------------------- repair money after it lands
        ("POST", f"{API}/card-transactions"): Entry(by_table(T.CARD_TRANSACTIONS_IMPORT), P(f"{API}/card-transactions"), files=True, why="card_transactions.import (422: a photo is not the bank's file)", readonly_403=True),
        ("GET", f"{API}/claims/{{reference}}/card-transactions"): Entry(by_table(T.PAYOUT_READ), lambda w: f"{API}/claims/{w.repair_claim}/card-transactions", why="payout.read"),
        ("GET", f"{API}/claims/{{reference}}/repair-reports"): Entry(by_table(T.PAYOUT_READ), lambda w: f"{API}/claims/{w.repair_claim}/repair-reports", why="payout.read"),
        ("POST", f"{API}/claims/{{reference}}/repair-reports"): Entry(by_table(T.PAYOUT_REPORT), lambda w: f"{API}/claims/{w.repair_claim}/repair-reports", lambda w, k: {"kind": "final"}, files=True, why="payout.report (409: the interim report is with the officer)", readonly_403=True),
        ("POST", f"{API}/claims/{{reference}}/repair-reports/{{report_id}}/decision"): Entry(by_table(T.PAYOUT_VERIFY), lambda w: f"{API}/claims/{w.repair_claim}/repair-reports/{w.repair_report}/decision", lambda w, k: {"accept": False, "reason": "matrix"}, why="payout.verify (the second one: 409, already returned)", readonly_403=True),
        # ---------------------------------------------------------------- housing certificates: notaries, the fund
        ("POST", f"{API}/reservations"): Entry(by_table(T.RESERVATION_FILE), P(f"{API}/reservations"), lambda w, k: reservation_body(w), why="reservation.file (409: the holder's RNOKPP is wrong)", readonly_403=True),
        ("POST", f"{API}/reservations/bulk"): Entry(by_table(T.RESERVATION_FILE), P(f"{API}/reservations/bulk"), lambda w, k: {"filings": [reservation_body(w)]}, why="reservation.file (409: the holder's RNOKPP is wrong)", readonly_403=True),
        ("POST", f"{API}/reservations/ownership-terminations/bulk"): Entry(by_table(T.CERTIFICATE_RECORD), P(f"{API}/reservations/ownership-terminations/bulk"), lambda w, k: {"items": [{"reservation_id": w.reservation_id, "extract": "В-1", "extract_on": "2026-01-01"}]}, why="certificate.record (409: not confirmed yet)", readonly_403=True),
        ("POST", f"{API}/contracts/bulk"): Entry(by_table(T.CERTIFICATE_RECORD), P(f"{API}/contracts/bulk"), lambda w, k: {"items": [{"reservation_id": w.reservation_id, "contract_number": "Д-1", "signed_on": "2026-01-01"}]}, why="certificate.record (409)", readonly_403=True),
        ("GET", f"{API}/reservations/{{reservation_id}}"): Entry(by_table(T.RESERVATION_READ), lambda w: f"{API}/reservations/{w.reservation_id}", why="reservation.read (notary: own filings)"),
        ("POST", f"{API}/reservations/{{reservation_id}}/ownership-termination"): Entry(by_table(T.CERTIFICATE_RECORD), lambda w: f"{API}/reservations/{w.reservation_id}/ownership-termination", lambda w, k: {"extract": "В-1", "extract_on": "2026-01-01"}, why="certificate.record (409: not confirmed yet)", readonly_403=True),
        ("POST", f"{API}/reservations/{{reservation_id}}/contracts"): Entry(by_table(T.CERTIFICATE_RECORD), lambda w: f"{API}/reservations/{w.reservation_id}/contracts", lambda w, k: {"contract_number": "Д-1", "signed_on": "2026-01-01"}, why="certificate.record (409)", readonly_403=True),
        ("POST", f"{API}/reservations/{{reservation_id}}/review"): Entry(by_table(T.RESERVATION_REVIEW), lambda w: f"{API}/reservations/{w.reservation_id}/review", lambda w, k: {"clear": True, "note": "matrix"}, why="reservation.review (409: not under review)", readonly_403=True),
        ("GET", f"{API}/fund"): Entry(by_table(T.FUND_READ), P(f"{API}/fund"), why="fund.read"),
        ("POST", f"{API}/fund/allocations"): Entry(by_table(T.FUND_RECORD), P(f"{API}/fund/allocations"), lambda w, k: {"amount_kopiykas": 1, "reference": f"M-{k}"}, why="fund.record", readonly_403=True),
        ("POST", f"{API}/certificates/{{number}}/revocation"): Entry(by_table(T.CERTIFICATE_REVOKE), lambda w: f"{API}/certificates/{w.revocable}/revocation", lambda w, k: {"reason": "admin"}, why="certificate.revoke (others: 403, or 404 where they cannot see it)", readonly_403=True),
        ("POST", f"{API}/certificates/{{number}}/seller-account"): Entry(by_table(T.CERTIFICATE_RECORD), lambda w: f"{API}/certificates/{w.certificate}/seller-account", lambda w, k: {"seller_name": "Бойко", "seller_iban": "UA213223130000026007233566001"}, why="certificate.record (409: no contract yet)", readonly_403=True),
        ("POST", f"{API}/public/certificate-check"): Entry(EVERYONE, P(f"{API}/public/certificate-check"), lambda w, k: {"number": w.certificate, "birth_date": w.certificate_born}, why="public (rate-limited per address)"),
        ("POST", f"{API}/payment-batches/{{batch_id}}/approve"): Entry(by_table(T.BATCH_APPROVE), lambda w: f"{API}/payment-batches/{w.batch_id}/approve", lambda w, k: {"expected_total_kopiykas": w.batch_total}, why="batch.approve", readonly_403=True),
        # the payments officer's day (payments.day_api); payments' cells answer 409/415 (the batch is not approved, the file a photo)
        ("POST", f"{API}/payment-batches"): Entry(by_table(T.BATCH_BUILD), P(f"{API}/payment-batches"), why="batch.build", readonly_403=True),
        ("GET", f"{API}/payment-batches/{{batch_id}}/file"): Entry(by_table(T.BATCH_EXPORT), lambda w: f"{API}/payment-batches/{w.batch_id}/file", why="batch.export"),
        ("POST", f"{API}/payment-batches/{{batch_id}}/send"): Entry(by_table(T.BATCH_SEND), lambda w: f"{API}/payment-batches/{w.batch_id}/send", why="batch.send", readonly_403=True),
        ("POST", f"{API}/payment-batches/{{batch_id}}/cancel"): Entry(by_table(T.BATCH_CANCEL), lambda w: f"{API}/payment-batches/{w.batch_id}/cancel", lambda w, k: {"reason": "matrix"}, why="batch.cancel", readonly_403=True),
        ("POST", f"{API}/bank-statements"): Entry(by_table(T.STATEMENT_RECONCILE), P(f"{API}/bank-statements"), files=True, why="statement.reconcile (a photo: 415)", readonly_403=True),
        ("GET", f"{API}/bank-statements"): Entry(by_table(T.BATCH_READ), P(f"{API}/bank-statements"), why="batch.read"),
        ("GET", f"{API}/bank-statements/{{statement_id}}"): Entry(by_table(T.BATCH_READ), lambda w: f"{API}/bank-statements/{w.statement_upload}", why="batch.read"),
        ("POST", f"{API}/statement-entries/{{entry_id}}/resolve"): Entry(by_table(T.STATEMENT_RESOLVE), lambda w: f"{API}/statement-entries/{w.statement_entry}/resolve", lambda w, k: {"dismiss_reason": "matrix"}, why="statement.resolve", readonly_403=True),
        ("GET", f"{API}/payment-exceptions"): Entry(by_table(T.BATCH_READ), P(f"{API}/payment-exceptions"), why="batch.read"),
    }
    # ---------------------------------------------------------------- public data and operations: the same for everyone
    same = {
        ("GET", f"{API}/health/live"): P(f"{API}/health/live"),
        ("GET", f"{API}/health/ready"): P(f"{API}/health/ready"),
        ("GET", "/metrics"): P("/metrics"),  # the operator's token, never a user's (404 with no token configured)
        ("GET", "/docs"): P("/docs"),
        ("GET", "/docs/oauth2-redirect"): P("/docs/oauth2-redirect"),
        ("GET", "/docs/assets/{name}"): P("/docs/assets/swagger-ui.css"),
        ("GET", f"{API}/public/log/key"): P(f"{API}/public/log/key"),
        ("GET", f"{API}/public/log/leaves"): P(f"{API}/public/log/leaves"),
        ("GET", f"{API}/public/log/leaves/{{index}}"): P(f"{API}/public/log/leaves/0"),
        ("GET", f"{API}/public/log/proof/consistency"): P(f"{API}/public/log/proof/consistency?first=1&second=1"),
        ("GET", f"{API}/public/log/proof/inclusion"): P(f"{API}/public/log/proof/inclusion?index=0&size=1"),
        ("GET", f"{API}/public/log/tree-head"): P(f"{API}/public/log/tree-head"),
        ("GET", f"{API}/public/log/tree-heads"): P(f"{API}/public/log/tree-heads"),
        ("GET", f"{API}/public/log/tree-heads/{{size}}"): P(f"{API}/public/log/tree-heads/1"),
    }
    for key, url in same.items():
        m[key] = Entry(EVERYONE, url, why="public", same_for_all=True)
    same_pages = {
        ("GET", "/public"): P("/public"),
        ("GET", "/public/statistics"): P("/public/statistics"),
        ("GET", "/public/log"): P("/public/log"),
        ("GET", "/public/data/{name}"): P("/public/data/datapackage.json"),
        ("GET", "/public/log/proof/{index}.json"): P("/public/log/proof/0.json"),
        # sign-in through the identity provider: 404 while none is configured (tests/web/test_oidc.py runs one)
        ("GET", "/signin/oidc"): P("/signin/oidc"),
        ("GET", "/signin/oidc/callback"): P("/signin/oidc/callback?code=x&state=y"),
    }
    # ---------------------------------------------------------------- pages
    pages: dict[tuple[str, str], Entry] = {
        ("GET", "/"): Entry(EVERYONE, P("/"), why="public"),
        ("GET", "/lang/{code}"): Entry(EVERYONE, P("/lang/en?next=/"), why="public"),
        ("GET", "/signin"): Entry(EVERYONE, P("/signin"), why="public"),
        ("POST", "/signin"): Entry(EVERYONE, P("/signin"), lambda w, k: {"email": f"{k}@nowhere.test", "password": "wrong password"}, why="public"),
        ("GET", "/signup"): Entry(EVERYONE, P("/signup"), why="public"),
        ("POST", "/signup"): Entry(EVERYONE, P("/signup"), lambda w, k: {"full_name": "", "email": "", "password": "", "password_again": ""}, why="public"),
        ("GET", "/signup/sent"): Entry(EVERYONE, P("/signup/sent"), why="public"),
        ("GET", "/signup/confirm"): Entry(EVERYONE, P("/signup/confirm?token=nothing"), why="public"),
        ("POST", "/signup/confirm"): Entry(EVERYONE, P("/signup/confirm"), lambda w, k: {"token": "nothing"}, why="public (a bad link: 400)"),
        ("POST", "/signout"): Entry(EVERYONE, P("/signout"), why="public (tried last)"),
        ("GET", "/password/forgot"): Entry(EVERYONE, P("/password/forgot"), why="public"),
        ("POST", "/password/forgot"): Entry(EVERYONE, P("/password/forgot"), lambda w, k: {"email": f"{k}@nowhere.test"}, why="public"),
        ("GET", "/password/reset"): Entry(EVERYONE, P("/password/reset?token=nothing"), why="public (a bad link: 400)"),
        ("POST", "/password/reset"): Entry(EVERYONE, P("/password/reset"), lambda w, k: {"token": "nothing", "new_password": "x" * 12, "new_password_again": "x" * 12}, why="public"),
        ("GET", "/account/password"): Entry(SIGNED_IN, P("/account/password"), why="signed in"),
        ("GET", "/account/notifications"): Entry(SIGNED_IN, P("/account/notifications"), why="signed in, one's own choices"),
        ("POST", "/account/notifications"): Entry(SIGNED_IN, P("/account/notifications"), lambda w, k: {"email": "on", "sms": "on"}, why="signed in, one's own choices"),
        ("POST", "/account/password"): Entry(SIGNED_IN, P("/account/password"), lambda w, k: {"current_password": "not it", "new_password": "x" * 12, "new_password_again": "x" * 12}, why="signed in"),
        # housing certificates: the public check, notaries' pages, the fund, the holder's PDF
        ("GET", "/public/certificate-check"): Entry(EVERYONE, P("/public/certificate-check"), why="public"),
        ("POST", "/public/certificate-check"): Entry(EVERYONE, P("/public/certificate-check"), lambda w, k: {"number": w.certificate, "birth_date": w.certificate_born}, why="public (rate-limited per address)"),
        ("GET", "/notary"): Entry(frozenset({"notary"}), P("/notary"), why="notaries: own filings"),
        ("GET", "/notary/reservations/new"): Entry(frozenset({"notary"}), P("/notary/reservations/new"), why="notaries"),
        ("POST", "/notary/reservations/new"): Entry(frozenset({"notary"}), P("/notary/reservations/new"), lambda w, k: {"number1": w.certificate, "rnokpp1": "1234567899"}, why="reservation.file (409: not held)"),
        ("GET", "/notary/reservations/{reservation_id}"): Entry(frozenset({"notary"}), lambda w: f"/notary/reservations/{w.reservation_id}", why="own filing"),
        ("POST", "/notary/reservations/{reservation_id}/termination"): Entry(frozenset({"notary"}), lambda w: f"/notary/reservations/{w.reservation_id}/termination", lambda w, k: {"extract": "В-1", "extract_on": "2026-01-01"}, why="own filing (409: not confirmed)"),
        ("POST", "/notary/reservations/{reservation_id}/contract"): Entry(frozenset({"notary"}), lambda w: f"/notary/reservations/{w.reservation_id}/contract", lambda w, k: {"contract_number": "Д-1", "signed_on": "2026-01-01"}, why="own filing (409)"),
        ("GET", "/staff/certificates/fund"): Entry(by_table(T.FUND_READ), P("/staff/certificates/fund"), why="fund.read"),
        ("POST", "/staff/certificates/fund/allocations"): Entry(by_table(T.FUND_RECORD), P("/staff/certificates/fund/allocations"), lambda w, k: {"amount": "0,01", "reference": f"P-{k}"}, why="fund.record", readonly_403=True),
        ("GET", "/staff/certificates/{number}/seller-account"): Entry(by_table(T.CERTIFICATE_RECORD) - {"notary"}, lambda w: f"/staff/certificates/{w.certificate}/seller-account", why="certificate.record (staff pages)"),
        ("POST", "/staff/certificates/{number}/seller-account"): Entry(by_table(T.CERTIFICATE_RECORD) - {"notary"}, lambda w: f"/staff/certificates/{w.certificate}/seller-account", lambda w, k: {"seller_name": "Бойко", "seller_iban": "UA213223130000026007233566001"}, why="certificate.record (409: no contract yet)"),
        ("GET", "/my/certificates/{number}.pdf"): Entry(claim_readers, lambda w: f"/my/certificates/{w.certificate}.pdf", why="claim.read (the holder's certificate)"),
        # applicants' pages: claimants only, their own claims and drafts
        ("GET", "/my"): Entry(CLAIMANTS, P("/my"), why="claimants"),
        ("GET", "/my/claims/{reference}"): Entry(frozenset({"citizen"}), lambda w: f"/my/claims/{w.own}", why="own claim"),
        ("POST", "/my/claims/{reference}/move"): Entry(frozenset({"citizen"}), lambda w: f"/my/claims/{w.moving['my']}/move", move_body("withdrawn", "my"), why="own claim (lifecycle)"),
        ("GET", "/my/claims/{reference}/power-of-attorney"): Entry(by_table(T.POWER_OF_ATTORNEY_REPLACE), lambda w: f"/my/claims/{w.represented}/power-of-attorney", why="power_of_attorney.replace (409 page: nothing to replace)"),
        ("POST", "/my/claims/{reference}/power-of-attorney"): Entry(by_table(T.POWER_OF_ATTORNEY_REPLACE), lambda w: f"/my/claims/{w.represented}/power-of-attorney", lambda w, k: {f"rep-{f}": v for f, v in REPRESENTATIVE.items()}, why="power_of_attorney.replace (409 page: nothing to replace)", readonly_403=True),
        ("GET", "/my/claims/{reference}/repair-report"): Entry(frozenset({"citizen"}), lambda w: f"/my/claims/{w.repair_claim}/repair-report", why="own claim's repair payout"),
        ("POST", "/my/claims/{reference}/repair-report"): Entry(frozenset({"citizen"}), lambda w: f"/my/claims/{w.repair_claim}/repair-report", lambda w, k: {"note": "matrix"}, files=True, why="own claim (payout.report)"),
        ("POST", "/my/claims/{reference}/evidence"): Entry(frozenset({"citizen"}), lambda w: f"/my/claims/{w.own}/evidence", lambda w, k: {"kind": "photo"}, files=True, why="own claim"),
        ("GET", "/my/claims/{reference}/payout-account"): Entry(frozenset({"citizen"}), lambda w: f"/my/claims/{w.own}/payout-account", why="own claim"),
        ("POST", "/my/claims/{reference}/payout-account"): Entry(frozenset({"citizen"}), lambda w: f"/my/claims/{w.own}/payout-account", lambda w, k: {"iban": MATRIX_IBAN, "bank_code": "305299"}, why="own claim (payout_account.set)"),
        ("GET", "/apply"): Entry(CLAIMANTS, P("/apply"), why="claimants"),
        ("POST", "/apply"): Entry(CLAIMANTS, P("/apply"), why="claimants"),
        ("GET", "/apply/{draft_id}/{step}"): Entry(frozenset({"citizen"}), lambda w: f"/apply/{w.draft_id}/home", why="own draft"),
        ("POST", "/apply/{draft_id}/discard"): Entry(frozenset({"citizen"}), lambda w: f"/apply/{w.discard_draft}/discard", why="own draft"),
        ("POST", "/apply/{draft_id}/home"): Entry(frozenset({"citizen"}), lambda w: f"/apply/{w.draft_id}/home", why="own draft"),
        ("POST", "/apply/{draft_id}/owners"): Entry(frozenset({"citizen"}), lambda w: f"/apply/{w.draft_id}/owners", why="own draft"),
        ("POST", "/apply/{draft_id}/event"): Entry(frozenset({"citizen"}), lambda w: f"/apply/{w.draft_id}/event", why="own draft"),
        ("POST", "/apply/{draft_id}/evidence"): Entry(frozenset({"citizen"}), lambda w: f"/apply/{w.draft_id}/evidence", why="own draft"),
        ("POST", "/apply/{draft_id}/check"): Entry(frozenset({"citizen"}), lambda w: f"/apply/{w.draft_id}/check", why="own draft"),
        # staff pages
        ("GET", "/staff"): Entry(STAFF_KEYS, P("/staff"), why="staff"),
        ("GET", "/staff/queue"): Entry(STAFF_KEYS, P("/staff/queue"), why="staff (scoped list)"),
        ("GET", "/staff/claims/{reference}"): Entry(claim_readers - CLAIMANTS, lambda w: f"/staff/claims/{w.own}", why="claim.read, staff"),
        ("POST", "/staff/claims/{reference}/move"): Entry(frozenset({"officer"}), lambda w: f"/staff/claims/{w.moving['staff']}/move", move_body("assigned", "staff"), why="lifecycle", readonly_403=True),
        ("GET", "/staff/repair-reports"): Entry(STAFF_KEYS, P("/staff/repair-reports"), why="staff: a list scoped to their oblasts"),
        ("GET", "/staff/claims/{reference}/repair-reports"): Entry(by_table(T.PAYOUT_READ) - CLAIMANTS, lambda w: f"/staff/claims/{w.repair_claim}/repair-reports", why="payout.read, staff"),
        ("POST", "/staff/claims/{reference}/repair-reports/{report_id}"): Entry(by_table(T.PAYOUT_VERIFY), lambda w: f"/staff/claims/{w.repair_claim}/repair-reports/{w.repair_report}", lambda w, k: {"decision": "return", "reason": "matrix"}, why="payout.verify (409 page once answered)"),
        ("GET", "/staff/claims/{reference}/payout-account"): Entry(claim_readers - CLAIMANTS, lambda w: f"/staff/claims/{w.own}/payout-account", why="claim.read, staff (masked)"),
        ("POST", "/staff/claims/{reference}/payout-account"): Entry(by_table(T.PAYOUT_ACCOUNT_SET) - CLAIMANTS, lambda w: f"/staff/claims/{w.own}/payout-account", lambda w, k: {"iban": MATRIX_IBAN, "bank_code": "305299"}, why="payout_account.set", readonly_403=True),
        ("POST", "/staff/claims/{reference}/power-of-attorney"): Entry(by_table(T.POWER_OF_ATTORNEY_CHECK), lambda w: f"/staff/claims/{w.represented}/power-of-attorney", lambda w, k: {"decision": "refuse", "reason": "matrix"}, why="power_of_attorney.check (409 page once checked)", readonly_403=True),
        ("GET", "/account/identity"): Entry(CLAIMANTS, P("/account/identity"), why="claimants: their own account"),
        ("POST", "/account/identity"): Entry(CLAIMANTS, P("/account/identity"), lambda w, k: {"rnokpp": "2935745002", "birth_date": "1980-05-17"}, why="claimants (400: no such record)"),
        ("POST", "/staff/claims/{reference}/award-approval"): Entry(by_table(T.AWARD_APPROVE), lambda w: f"/staff/claims/{w.own}/award-approval", lambda w, k: {"award": "approve", "approval_reason": "matrix"}, why="award.approve (409 page: no award waits)", readonly_403=True),
        ("GET", "/staff/claims/{reference}/act"): Entry(claim_readers - CLAIMANTS, lambda w: f"/staff/claims/{w.own}/act", why="staff who see it (409 page: no act possible now)"),
        ("POST", "/staff/claims/{reference}/act"): Entry(claim_readers - CLAIMANTS, lambda w: f"/staff/claims/{w.own}/act", lambda w, k: {"action": "recalculate"}, why="staff who see it (filing needs the lifecycle)"),
        ("GET", "/files/{reference}/{evidence_id}/preview"): Entry(by_table(T.EVIDENCE_READ), lambda w: f"/files/{w.own}/{w.evidence_id}/preview", why="evidence.read"),
        ("GET", "/claims/{reference}/decision.pdf"): Entry(frozenset(), lambda w: f"/claims/{w.own}/decision.pdf", why="no document yet"),
        ("GET", "/staff/inspections"): Entry(by_table(T.INSPECTIONS_READ, scoped_list=True), P("/staff/inspections"), why="inspections.read"),
        ("POST", "/staff/claims/{reference}/inspector"): Entry(by_table(T.INSPECTOR_ASSIGN), lambda w: f"/staff/claims/{w.own}/inspector", lambda w, k: {"inspector": "1", "expected_version": str(_v(w, w.own))}, why="inspector.assign (409 page: not waiting for an inspection)"),
        ("GET", "/files/{reference}/{evidence_id}"): Entry(by_table(T.EVIDENCE_READ), lambda w: f"/files/{w.own}/{w.evidence_id}", why="evidence.read"),
        ("GET", "/staff/findings"): Entry(by_table(T.FINDING_READ, scoped_list=True), P("/staff/findings"), why="finding.read"),
        ("GET", "/staff/findings/{finding_id}"): Entry(by_table(T.FINDING_READ), lambda w: f"/staff/findings/{w.finding_id}", why="finding.read"),
        ("POST", "/staff/findings/{finding_id}/review"): Entry(by_table(T.FINDING_REVIEW), lambda w: f"/staff/findings/{w.finding_id}/review", lambda w, k: {"decision": "match", "note": "matrix"}, why="finding.review", readonly_403=True),
        ("POST", "/staff/findings/{finding_id}/override"): Entry(by_table(T.FINDING_OVERRIDE), lambda w: f"/staff/findings/{w.finding_id}/override", lambda w, k: {"reason": "matrix: repeat damage after repair"}, why="finding.override (409 once overridden)", readonly_403=True),
        ("GET", "/staff/payments"): Entry(by_table(T.BATCH_READ), P("/staff/payments"), why="batch.read"),
        ("POST", "/staff/payments/build"): Entry(by_table(T.BATCH_BUILD), P("/staff/payments/build"), why="batch.build", readonly_403=True),
        ("GET", "/staff/payments/{batch_id}"): Entry(by_table(T.BATCH_READ), lambda w: f"/staff/payments/{w.batch_id}", why="batch.read"),
        ("POST", "/staff/payments/{batch_id}/approve"): Entry(by_table(T.BATCH_APPROVE), lambda w: f"/staff/payments/{w.batch_id}/approve", lambda w, k: {"expected_total_kopiykas": str(w.batch_total)}, why="batch.approve", readonly_403=True),
        ("POST", "/staff/payments/{batch_id}/file"): Entry(by_table(T.BATCH_EXPORT), lambda w: f"/staff/payments/{w.batch_id}/file", why="batch.export", readonly_403=True),
        ("POST", "/staff/payments/{batch_id}/send"): Entry(by_table(T.BATCH_SEND), lambda w: f"/staff/payments/{w.batch_id}/send", why="batch.send", readonly_403=True),
        ("POST", "/staff/payments/{batch_id}/cancel"): Entry(by_table(T.BATCH_CANCEL), lambda w: f"/staff/payments/{w.batch_id}/cancel", lambda w, k: {"reason": "matrix"}, why="batch.cancel", readonly_403=True),
        ("GET", "/staff/payments/statements"): Entry(by_table(T.BATCH_READ), P("/staff/payments/statements"), why="batch.read"),
        ("POST", "/staff/payments/statements"): Entry(by_table(T.STATEMENT_RECONCILE), P("/staff/payments/statements"), files=True, why="statement.reconcile (no statement field: 400)", readonly_403=True),
        ("GET", "/staff/payments/statements/{upload_id}"): Entry(by_table(T.BATCH_READ), lambda w: f"/staff/payments/statements/{w.statement_upload}", why="batch.read"),
        ("POST", "/staff/payments/statement-entries/{entry_id}/match"): Entry(by_table(T.STATEMENT_RESOLVE), lambda w: f"/staff/payments/statement-entries/{w.statement_entry}/match", lambda w, k: {"end_to_end_id": "EMP-NO-SUCH"}, why="statement.resolve", readonly_403=True),
        ("POST", "/staff/payments/statement-entries/{entry_id}/dismiss"): Entry(by_table(T.STATEMENT_RESOLVE), lambda w: f"/staff/payments/statement-entries/{w.statement_entry}/dismiss", lambda w, k: {"reason": "matrix"}, why="statement.resolve", readonly_403=True),
        ("GET", "/staff/payments/exceptions"): Entry(by_table(T.BATCH_READ), P("/staff/payments/exceptions"), why="batch.read"),
    }
    # the admin area: accounts, programme settings, the audit-trail search
    admin_only, auditors = by_table(T.USER_MANAGE), by_table(T.AUDIT_READ)
    staff_url = lambda tail: (lambda w: f"/admin/users/{w.staff_id}{tail}")  # noqa: E731
    pages |= {
        ("GET", "/admin/users"): Entry(admin_only, P("/admin/users?q=test"), why="user.manage"),
        ("GET", "/admin/users/new"): Entry(admin_only, P("/admin/users/new"), why="user.manage"),
        ("POST", "/admin/users"): Entry(admin_only, P("/admin/users"), lambda w, k: {"email": "", "role": ""}, why="user.manage (400: the form's errors)", readonly_403=True),
        ("GET", "/admin/users/{user_id}"): Entry(admin_only, staff_url(""), why="user.manage"),
        ("POST", "/admin/users/{user_id}/role"): Entry(admin_only, staff_url("/role"), lambda w, k: {"role": "officer", "oblast": "lvivska"}, why="user.manage (unchanged)", readonly_403=True),
        ("POST", "/admin/users/{user_id}/deactivate"): Entry(admin_only, staff_url("/deactivate"), why="user.manage (400: not confirmed)", readonly_403=True),
        ("POST", "/admin/users/{user_id}/reset-password"): Entry(admin_only, staff_url("/reset-password"), why="user.manage", readonly_403=True),
        ("GET", "/admin/settings"): Entry(by_table(T.PROGRAMME_CONFIGURE), P("/admin/settings"), why="programme.configure"),
        ("POST", "/admin/settings"): Entry(by_table(T.PROGRAMME_CONFIGURE), P("/admin/settings"), lambda w, k: {"photos_closeup_required": "x"}, why="programme.configure (400: the form's errors)", readonly_403=True),
        ("GET", "/admin/service-accounts"): Entry(admin_only, P("/admin/service-accounts"), why="user.manage"),
        ("POST", "/admin/service-accounts"): Entry(admin_only, P("/admin/service-accounts"), lambda w, k: {"name": "", "role": ""}, why="user.manage (400: the form's errors)", readonly_403=True),
        ("POST", "/admin/service-accounts/{client_id}/rotate"): Entry(admin_only, lambda w: f"/admin/service-accounts/{w.service_client}/rotate", why="user.manage", readonly_403=True),
        ("POST", "/admin/service-accounts/{client_id}/revoke"): Entry(admin_only, lambda w: f"/admin/service-accounts/{w.service_client}/revoke", why="user.manage (400: not confirmed)", readonly_403=True),
        ("GET", "/admin/audit"): Entry(auditors, P("/admin/audit?kind=user"), why="audit.read (read-only)"),
    }
    for key, url in same_pages.items():
        pages[key] = Entry(EVERYONE, url, why="public", same_for_all=True)
    for key, entry in pages.items():
        m[key] = replace(entry, page=True)
    for key, entry in m.items():
        if entry.why.startswith("public"):
            m[key] = replace(entry, public=True)
    return m


MATRIX = _matrix()


def app_routes(app: Any) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app serves (static files aside), through included routers."""
    def walk(routes: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
        for r in routes:
            if hasattr(r, "original_router"):  # FastAPI's included router
                yield from walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif getattr(r, "methods", None):
                for method in sorted(r.methods - {"HEAD"}):
                    yield method, prefix + r.path

    yield from walk(app.routes)


def test_every_route_has_an_entry():
    from everymetre.api.app import create_app
    from everymetre.config import get_settings

    served = set(app_routes(create_app(get_settings())))
    missing = sorted(served - MATRIX.keys())
    assert not missing, f"routes without an entry in tests/test_authorisation_matrix.py: {missing}"
    gone = sorted(MATRIX.keys() - served)
    assert not gone, f"matrix entries for routes the app no longer serves: {gone}"
    assert len(served) >= 60


def test_read_only_roles_are_read_only_in_the_table():
    for action in (Action.CLAIM_FILE, Action.EVIDENCE_ADD, Action.CLAIM_VERIFY, Action.FINDING_REVIEW):
        assert not PERMISSIONS[action].roles & {Role.AUDITOR, Role.ADMIN, Role.PAYMENTS}, action
    assert Role.COMMISSION not in PERMISSIONS[Action.EVIDENCE_ADD].roles
    for action in (Action.BATCH_BUILD, Action.BATCH_APPROVE):
        assert not PERMISSIONS[action].roles & {Role.AUDITOR, Role.ADMIN}, action


# ---------------------------------------------------------------------------------------------- the world


LIMITS = {"signin_max_failures_account": 1000, "signin_max_failures_address": 1000, "signup_max_per_address": 1000}


@pytest.fixture()
def world(db, users, principal):
    """Claims, evidence, drafts, a finding, a batch and a certificate, all in Kharkiv oblast; an app with its
    throttling limits raised (the matrix signs in and fails on purpose many times from one address)."""
    from fastapi.testclient import TestClient

    from everymetre.api.app import create_app
    from everymetre.api.security import issue_token
    from everymetre.config import get_settings
    from everymetre.linkage.models import LinkageFinding, LinkageFindingClaim
    from everymetre.payments import batches, certificates
    from tests.payments.store_helpers import decided_claim
    from tests.store.test_claims_api import ACT
    from tests.web.conftest import Browser

    settings = replace(get_settings(), **LIMITS)
    app = create_app(settings)
    from everymetre.accounts.service_accounts import do_create_service_account

    w = World(staff_id=users["officer_lviv"],
              service_client=do_create_service_account(db, None, "matrix", "officer", ["kharkivska"])[0].client_id)
    tokens = {k: issue_token(db, settings, users[k]) for k in SIGNED_IN}
    with TestClient(app, raise_server_exceptions=False) as c:
        def h(k: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {tokens[k]}"}

        def file() -> dict:
            r = c.post(f"{API}/claims", json=claim_body(), headers=h("citizen"))
            assert r.status_code == 201, r.text
            return r.json()

        def move(k: str, claim: dict, to: str, **extra: Any) -> dict:
            r = c.post(f"{API}/claims/{claim['reference']}/transitions", headers=h(k),
                       json={"to": to, "reason": "setup", "expected_version": claim["version"], **extra})
            assert r.status_code == 200, r.text
            return r.json()

        own = file()
        w.own = own["reference"]
        r = c.post(f"{API}/claims", headers=h("citizen"), json=claim_body(
            owners=[owner(name="Коваль Ганна Петрівна")], representative=REPRESENTATIVE))
        assert r.status_code == 201, r.text
        w.represented = r.json()["reference"]
        for which in ("api", "staff", "my"):
            mv = file()
            w.moving[which] = mv["reference"]
            w.versions[mv["reference"]] = mv["version"]
        a = file()
        a = move("officer", a, "assigned")
        a = move("inspector", a, "remote_verified", inspection_act={**ACT, "method": "remote_photo"})
        a = move("officer", a, "assessed")
        w.assessed = a["reference"]
        r = c.post(f"{API}/claims/{w.own}/evidence", headers=h("citizen"), data={"kind": "photo"},
                   files={"file": ("home.jpg", jpeg_with_exif(), "image/jpeg")})
        assert r.status_code == 201, r.text
        w.evidence_id = r.json()["id"]
    from everymetre.claims import drafts as drafts_service

    w.draft_id = drafts_service.start_draft(db, principal("citizen")).id
    w.discard_draft = drafts_service.start_draft(db, principal("citizen")).id
    from everymetre.claims.access import claim_id_from_reference

    kid = claim_id_from_reference(w.own)
    finding = LinkageFinding(fingerprint="matrix-" + w.own, kind="home_claimed_by_unrelated", score=0.9, status="open",
                             claim_ids=[kid], claim_refs=[w.own], record_ids=[], evidence={"pairs": []},
                             first_run_id=1, last_run_id=1)
    db.add(finding)
    db.flush()
    db.add(LinkageFindingClaim(finding_id=finding.id, claim_id=kid, oblast="kharkivska"))
    db.commit()
    w.finding_id = finding.id
    decided_claim(db, users["commission"], 10_000_000)
    from everymetre.accounts.actions import load_principal
    from tests.payments.store_helpers import ensure_user

    builder = load_principal(db, ensure_user(db, "payments.builder@test.org", "payments", ["kharkivska"]))
    built = batches.do_build_batch(db, builder).batch  # built by another officer: "payments" may approve it
    w.batch_id, w.batch_total = built.id, built.total_kopiykas
    cert_claim = decided_claim(db, users["commission"], 150_000_000, kind="destroyed_housing_application",
                               submitted_by=users["citizen"], owners=[("Коваль Іван", 1, 1)])
    w.certificate = certificates.do_issue_certificate(db, principal("payments"), cert_claim.reference)[0].number
    w.certificate_claim = cert_claim.reference
    w.repair_claim, w.repair_report = repair_world(db, users)
    from datetime import date as _date

    from everymetre.accounts.actions import SYSTEM
    from everymetre.payments.camt053 import EntryStatus, StatementEntry, build_camt053
    from everymetre.payments.models import StatementLine
    from everymetre.payments.reconcile import do_reconcile

    camt = build_camt053([StatementEntry("EMP-NOT-OURS", 12_345, EntryStatus.BOOKED, _date(2026, 2, 2))],
                         account_iban=batches.debtor_account().iban)
    w.statement_upload = do_reconcile(db, SYSTEM, camt).upload_id or 0
    w.statement_entry = db.scalar(select(StatementLine.id).where(StatementLine.statement_id == w.statement_upload)) or 0
    db.rollback()
    # the notary's filing of it (queued: the agent's fund is empty), and a second certificate for revocation
    from datetime import date as _date

    from everymetre.claims.models import Person
    from everymetre.kernel.identifiers import make_rnokpp
    from everymetre.payments import reservations
    from everymetre.payments.models import Certificate

    holder = db.get(Person, db.scalar(select(Certificate.holder_person_id).where(Certificate.number == w.certificate)))
    holder.birth_date, holder.rnokpp = _date(1975, 4, 3), make_rnokpp(_date(1975, 4, 3), 7, True)
    db.commit()
    w.certificate_born = holder.birth_date.isoformat()
    body = reservation_body(w)
    filing = reservations.Filing((reservations.Buyer(w.certificate, holder.rnokpp),), body["seller_name"],
                                 make_rnokpp(_date(1970, 1, 1), 9, False), body["seller_iban"], "1", "Київ",
                                 body["property_katottg"], Decimal("50"), "apartment", 150_000_000)
    w.reservation_id = reservations.do_file_reservation(db, principal("notary"), filing).id
    other = decided_claim(db, users["commission"], 150_000_000, kind="destroyed_housing_application",
                          submitted_by=users["citizen"], owners=[("Коваль Петро", 1, 1)])
    w.revocable = certificates.do_issue_certificate(db, principal("payments"), other.reference)[0].number
    browsers: dict[str, Browser] = {}
    for k in ROLES:
        b = Browser(app)
        b.client = TestClient(app, raise_server_exceptions=False, base_url="http://testserver")  # 5xx: a wrong cell
        b.client.__enter__()
        browsers[k] = b if k == "anonymous" else b.sign_in(k)
    yield w, app, settings, tokens, browsers
    for b in browsers.values():
        b.close()


def repair_world(db, users) -> tuple[str, int]:
    """A tier B repair payout on a claim of citizen's (paid through a sent batch of its own), its interim report filed."""
    from datetime import date

    from everymetre.payments.models import Payment, PaymentBatch, RepairPayout, RepairReport
    from tests.payments.store_helpers import decided_claim, ensure_user

    builder = ensure_user(db, "payments.builder@test.org", "payments", ["kharkivska"])
    claim = decided_claim(db, users["commission"], 30_000_000, submitted_by=users["citizen"])
    batch = PaymentBatch(message_id="EMPAY-MATRIX-REPAIR", state="sent", created_by_id=builder, approved_by_id=users["payments"],
                         requested_on=date(2026, 2, 1), count=1, total_kopiykas=21_000_000)
    db.add(batch)
    db.flush()
    pay = Payment(end_to_end_id=f"EMP-{claim.id:012d}-01", purpose="repair", tranche=1, claim_id=claim.id, amount_kopiykas=21_000_000,
                  creditor_name="Шевченко Олена Петрівна", creditor_iban=claim.owners[0].person.iban, state="booked", batch_id=batch.id)
    db.add(pay)
    db.flush()
    payout = RepairPayout(claim_id=claim.id, payment_id=pay.id, tier="B", amount_kopiykas=21_000_000, awarded_kopiykas=30_000_000,
                          transferred_on=date.today(), window_end=date(2099, 1, 1), state="interim_reported",
                          interim_reported_on=date.today())
    db.add(payout)
    db.flush()
    report = RepairReport(payout_id=payout.id, claim_id=claim.id, kind="interim", state="filed", filed_on=date.today(),
                          filed_by_id=users["citizen"], evidence_ids=[])
    db.add(report)
    db.commit()
    return claim.reference, report.id


def _refused_api(r: Any) -> bool:
    return r.status_code in (401, 403, 404)


def _refused_page(r: Any) -> bool:
    signin = r.status_code == 303 and r.headers.get("location", "").startswith("/signin")
    return signin or r.status_code in (401, 403, 404)


def test_every_role_on_every_route(world, db):
    from fastapi.testclient import TestClient

    from everymetre.api.security import issue_token
    from tests.conftest import STAFF as ACCOUNTS

    w, app, settings, tokens, browsers = world
    users = dict(db.execute(select(__import__("everymetre.accounts.models", fromlist=["User"]).User.email,
                                   __import__("everymetre.accounts.models", fromlist=["User"]).User.id)).all())
    wrong: list[str] = []
    answers: dict[tuple[str, str], dict[str, int]] = {}
    cells = 0
    order = sorted(MATRIX.items(), key=lambda kv: (kv[0] == ("POST", "/signout"), kv[1].page, kv[0]))
    with TestClient(app, raise_server_exceptions=False) as api:
        for (method, template), entry in order:
            for k in sorted(ROLES, key=lambda r: r in entry.allow):  # refusals first: they change nothing
                url = entry.url(w)
                body = entry.body(w, k)
                if entry.page:
                    b = browsers[k]
                    if method == "GET":
                        r = b.get(url, follow_redirects=False)
                    else:
                        files = [("files", ("home.jpg", jpeg_with_exif(), "image/jpeg"))] if entry.files else None
                        r = b.post(url, body, token_from="/signin", files=files)
                    refused = _refused_page(r)
                else:
                    headers = {}
                    if k != "anonymous":
                        token = tokens[k]
                        if template == f"{API}/auth/revoke":  # a token of its own: the others stay usable
                            token = issue_token(db, settings, users[ACCOUNTS[k][0]])
                        headers = {"Authorization": f"Bearer {token}"}
                    if method == "GET":
                        r = api.get(url, headers=headers)
                    elif entry.files:
                        name = "files" if template.endswith("/repair-reports") else "file"
                        r = api.post(url, headers=headers, data=body, files={name: ("home.jpg", jpeg_with_exif(), "image/jpeg")})
                    elif template in (f"{API}/auth/token",):
                        r = api.post(url, headers=headers, data={"username": f"{k}@nowhere.test", "password": "wrong"})
                    else:  # POST, PUT, PATCH, DELETE
                        r = api.request(method, url, headers=headers, json=body)
                    refused = _refused_api(r) and not (entry.public and r.status_code == 401)
                cells += 1
                if entry.same_for_all:
                    answers.setdefault((method, template), {})[k] = r.status_code
                    if r.status_code >= 500:
                        wrong.append(f"5xx: {method} {template} as {k}: {r.status_code}")
                    continue
                expect_allowed = k in entry.allow
                where = f"{method} {template} as {k}: {r.status_code} {r.headers.get('location', '')} {r.text[:160]!r}"
                if r.status_code >= 500:
                    wrong.append("5xx: " + where)
                elif expect_allowed and refused:
                    wrong.append("refused but allowed: " + where)
                elif not expect_allowed and not refused:
                    wrong.append("allowed but should be refused: " + where)
                elif not expect_allowed and k == "anonymous" and not entry.page and r.status_code != 401:
                    wrong.append("anonymous not 401: " + where)
                elif not expect_allowed and entry.readonly_403 and k in READ_ONLY_WRITERS and r.status_code != 403:
                    wrong.append("read-only role not refused with 403: " + where)
                if k in entry.allow and method == "POST" and r.status_code in (200, 201, 303):
                    for ref in w.moving.values():  # keep the versions of the moving claims current
                        if ref in url:
                            w.versions[ref] = w.versions.get(ref, 1) + 1
    wrong += [f"not the same answer for every role: {route}: {codes}" for route, codes in answers.items()
              if len(set(codes.values())) != 1]
    assert cells == len(MATRIX) * len(ROLES)
    assert not wrong, f"{len(wrong)} of {cells} cells wrong:\n" + "\n".join(wrong)
