"""The account a claim's money is paid to: given with the claim, corrected by the claimant or an officer, and
asked for again when the bank returns a payment.

One row per account (`claims.models.PayoutAccount`), per claim and owner: a correction marks the old row
`replaced` and adds a new one, so the store (and `Payment.creditor_iban`) proves which account each payment
used. Audit events carry the account masked (``UA21 **** **** 1234``) and its SHA-256 (`iban_sha256`), which
proves which account it was without spreading the number. The states and their moves are
`claims.lifecycle.ACCOUNT_MOVES`: active -> returned (the bank returned a payment: the claim "needs a new
account" and is kept out of every batch), active | returned -> replaced (a new account was given; the next
batch pays it with a new payment).

Repair money is paid to one owner, the applicant (or the first owner): shares are not paid separately. Every
owner may still give their own account (a row per owner); the payee's is the one used.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from everymetre.accounts.actions import Principal
from everymetre.accounts.permissions import Action, Subject, require
from everymetre.audit.record import NewEvent, claim_chain, record_many
from everymetre.claims.access import get_claim, is_party
from everymetre.claims.lifecycle import ACCOUNT_MOVES, AccountState, ClaimKind, side_move
from everymetre.claims.models import Claim, Ownership, PayoutAccount, Person
from everymetre.config import get_settings
from everymetre.kernel.errors import ErrorCode, NotFound, ValidationFailed
from everymetre.kernel.iban import IBANError, mask_iban, parse_ua_iban
from everymetre.kernel.identifiers import claim_reference
from everymetre.store.tx import atomic
from everymetre.store.types import utcnow

NOUN = "payout account"
CURRENT = (AccountState.ACTIVE.value, AccountState.RETURNED.value)


def participating_banks() -> dict[str, str]:
    """MFO -> bank name: the banks where an eRecovery payout account may be (EVERYMETRE_PAYOUT_BANKS)."""
    return dict(get_settings().payout_banks)


def check_account(iban: str, bank_code: str | None = None, field: str = "iban") -> tuple[str, str]:
    """The normalised IBAN and its bank code, or ValidationFailed saying what is wrong: not a valid Ukrainian
    IBAN (ISO 13616, 29 characters), a bank that is not participating, or a chosen bank that is not the IBAN's."""
    try:
        ua = parse_ua_iban(iban)
    except IBANError as exc:
        raise ValidationFailed(f"The account number (IBAN) is not valid: {exc}.", field=field,
                               code=ErrorCode.IBAN_INVALID) from None
    banks = participating_banks()
    if ua.bank_code not in banks:
        raise ValidationFailed(f"The IBAN belongs to the bank with code {ua.bank_code}, which does not take part in "
                               "eRecovery; open the special account at one of the participating banks.", field=field,
                               code=ErrorCode.BANK_NOT_PARTICIPATING, bank_code=ua.bank_code)
    if bank_code and bank_code.strip() != ua.bank_code:
        chosen = bank_code.strip()
        raise ValidationFailed(f"The bank chosen ({banks.get(chosen, chosen)}) is not the bank of this IBAN "
                               f"({banks[ua.bank_code]}, code {ua.bank_code}): check both.", field=field,
                               code=ErrorCode.BANK_IBAN_MISMATCH, bank_code=chosen, iban_bank_code=ua.bank_code)
    return ua.iban, ua.bank_code


def fingerprint(iban: str) -> str:
    """SHA-256 of the IBAN: the trail proves which account was used without holding the number."""
    return hashlib.sha256(iban.encode("ascii")).hexdigest()


def trail_view(iban: str, bank_code: str) -> dict[str, str]:
    return {"iban_masked": mask_iban(iban), "iban_sha256": fingerprint(iban), "bank_code": bank_code}


def payee(claim: Claim) -> Ownership | None:
    """Whose account a repair payment goes to: the applicant, else the first owner (as payments.batches does)."""
    owners = sorted(claim.owners, key=lambda o: (not o.is_applicant, o.id))
    return owners[0] if owners else None


def current_accounts(session: Session, claim_id: int) -> dict[int, PayoutAccount]:
    """person id -> the owner's current (active or returned) account on this claim."""
    rows = session.scalars(select(PayoutAccount).where(PayoutAccount.claim_id == claim_id, PayoutAccount.state.in_(CURRENT)))
    return {a.person_id: a for a in rows}


def open_account(session: Session, claim_id: int, person: Person, iban: str, bank_code: str, actor_id: int | None,
                 now: datetime) -> PayoutAccount:
    """Add an owner's active account (the caller checked it and replaced any current one)."""
    account = PayoutAccount(claim_id=claim_id, person_id=person.id, iban=iban, bank_code=bank_code,
                            state=AccountState.ACTIVE.value, created_by_id=actor_id, created_at=now)
    session.add(account)
    person.iban = iban  # the person's latest account, as linkage and older readers see it
    return account


def needs_account(session: Session, claim: Claim) -> str | None:
    """Why this claim's money cannot go out for want of an account: "returned" (the bank returned a payment to
    it), "missing" (no account given), or None. Housing-certificate claims are paid to sellers, never asked."""
    if claim.kind == ClaimKind.DESTROYED_HOUSING_APPLICATION.value:
        return None
    who = payee(claim)
    if who is None:
        return None
    account = current_accounts(session, claim.id).get(who.person_id)
    if account is not None:
        return "returned" if account.state == AccountState.RETURNED.value else None
    return None if who.person.iban else "missing"


def account_status(session: Session, claim: Claim) -> dict[str, Any]:
    """The claim's accounts as people may see them (masked), whose is paid, and whether a new one is needed."""
    banks = participating_banks()
    current = current_accounts(session, claim.id)
    who = payee(claim)
    owners = []
    for o in sorted(claim.owners, key=lambda o: (not o.is_applicant, o.id)):
        acc = current.get(o.person_id)
        iban = acc.iban if acc else o.person.iban
        owners.append({"owner": o.person.full_name, "is_payee": who is not None and o.id == who.id,
                       "iban_masked": mask_iban(iban) or None, "bank_code": acc.bank_code if acc else None,
                       "bank_name": banks.get(acc.bank_code) if acc else None, "state": acc.state if acc else None,
                       "since": acc.created_at if acc else None, "returned_reason": acc.returned_reason if acc else None})
    return {"claim_reference": claim.reference, "needs_account": needs_account(session, claim), "owners": owners,
            "banks": [{"bank_code": c, "name": n} for c, n in banks.items()]}


def do_set_payout_account(session: Session, principal: Principal, reference: str, iban: str, bank_code: str | None,
                          owner_rnokpp: str | None = None, reason: str = "", now: datetime | None = None) -> PayoutAccount:
    """Give or correct an owner's payout account (the payee's unless `owner_rnokpp` names another owner). The
    claimant (a party to the claim) or an officer of its oblast; audited on the claim's chain with the old account
    masked and fingerprinted. A returned account is replaced this way, and the claim is paid again."""
    now = now or utcnow()
    with atomic(session):
        claim = get_claim(session, principal, reference)
        require(principal.actor, Action.PAYOUT_ACCOUNT_SET,
                Subject(oblasts=frozenset({claim.oblast}), is_party=is_party(principal, claim)))
        new_iban, new_bank = check_account(iban, bank_code)
        if owner_rnokpp:
            owner = next((o for o in claim.owners if o.person.rnokpp == owner_rnokpp.replace(" ", "")), None)
            if owner is None:
                raise ValidationFailed("No owner of this claim has that taxpayer number.", field="owner_rnokpp")
        else:
            owner = payee(claim)
            if owner is None:
                raise NotFound(f"Claim {claim.reference} names no owner.")
        old = current_accounts(session, claim.id).get(owner.person_id)
        before: dict[str, Any] | None = None
        if old is not None:
            if old.iban == new_iban and old.state == AccountState.ACTIVE.value:
                return old  # the same account again: nothing changes
            side_move(ACCOUNT_MOVES, NOUN, old.state, AccountState.REPLACED.value)
            before = {"payout_account_id": old.id, "state": old.state, **trail_view(old.iban, old.bank_code)}
            old.state, old.replaced_at = AccountState.REPLACED.value, now
            session.flush()  # the old row leaves the "one current account" index before the new one enters it
        elif owner.person.iban:
            before = {"payout_account_id": None, "state": "person_record", **trail_view(owner.person.iban, owner.person.iban[4:10])}
        account = open_account(session, claim.id, owner.person, new_iban, new_bank, principal.user_id, now)
        session.flush()
        after = {"payout_account_id": account.id, "owner_person_id": owner.person_id, **trail_view(new_iban, new_bank)}
        record_many(session, claim_chain(claim.id), [NewEvent("claim.payout_account_set",
                    {"before": before, "after": after, "reason": reason, "by_role": principal.role.value},
                    principal.user_id, now)], claim_id=claim.id)
    return account


def mark_returned(session: Session, claim_id: int, iban: str, end_to_end_id: str, reason: str,
                  actor_id: int | None, now: datetime | None = None) -> None:
    """The bank returned a payment to `iban` (inside the reconciliation's transaction): that account becomes
    `returned`, so the claim needs a new one and no batch takes it until one is given. Recorded on the claim's
    chain. A payment to an account given before payout accounts existed gets its row here, then the move."""
    now = now or utcnow()
    account = session.scalar(select(PayoutAccount).where(PayoutAccount.claim_id == claim_id, PayoutAccount.iban == iban,
                                                         PayoutAccount.state.in_(CURRENT)))
    if account is None:
        claim = session.get(Claim, claim_id)
        who = payee(claim) if claim is not None else None
        if claim is None or who is None or who.person.iban != iban:
            return  # the account was corrected meanwhile: the new one stands
        if current_accounts(session, claim_id).get(who.person_id) is not None:
            return  # another account was given since: it stands
        account = open_account(session, claim_id, who.person, iban, iban[4:10], None, now)
        session.flush()
    if account.state == AccountState.RETURNED.value:
        return
    side_move(ACCOUNT_MOVES, NOUN, account.state, AccountState.RETURNED.value)
    account.state, account.returned_payment, account.returned_reason = AccountState.RETURNED.value, end_to_end_id, reason
    session.flush()
    record_many(session, claim_chain(claim_id), [NewEvent("claim.payout_account_returned",
                {"payment": end_to_end_id, "reason": reason, "payout_account_id": account.id,
                 **trail_view(account.iban, account.bank_code)}, actor_id, now)], claim_id=claim_id)


def accounts_to_correct(session: Session, principal: Principal, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Claims whose payment the bank returned and that wait for a new account (for the payments officer's
    exceptions queue): reference, payee, masked account, the returned payment and the bank's reason, newest
    first; only claims in the principal's oblasts. Each links to /staff/claims/{reference}/payout-account."""
    require(principal.actor, Action.BATCH_READ)
    stmt = (select(PayoutAccount, Claim.ref_year, Claim.oblast, Person.full_name)
            .join(Claim, Claim.id == PayoutAccount.claim_id).join(Person, Person.id == PayoutAccount.person_id)
            .where(PayoutAccount.state == AccountState.RETURNED.value))
    if not principal.actor.all_oblasts:
        stmt = stmt.where(Claim.oblast.in_(sorted(principal.oblasts)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(stmt.order_by(PayoutAccount.id.desc()).limit(limit).offset(offset)).all()
    items = [{"claim_reference": (ref := claim_reference(year, acc.claim_id)), "owner": name, "oblast": oblast,
              "iban_masked": mask_iban(acc.iban), "returned_payment": acc.returned_payment,
              "reason": acc.returned_reason, "since": acc.created_at,
              "correct_url": f"/staff/claims/{ref}/payout-account"} for acc, year, oblast, name in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}

