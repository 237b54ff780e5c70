"""ISO 20022 camt.053 bank-to-customer statements: read what the bank booked, and write test statements.

:func:`parse_camt053` turns the programme account's statement into :class:`StatementEntry` values: the
``EndToEndId`` we sent in pain.001 (our payment id), the amount in integer kopiykas, whether the payment
was booked or rejected/returned (with the ISO reason code, e.g. ``AC01`` wrong account number, ``AC04``
closed account, ``AM05`` duplicate), and the booking date. Versions ``camt.053.001.02`` (the one most banks
still send) and ``camt.053.001.08`` are both read; their namespaces are detected.

Schema: **no camt.053 XSD is shipped by any installed package** (sepaxml ships only pain.001/pain.008), and
schemas are not downloaded at run time. So the parser performs its own structural validation of every
element it relies on (required elements, code lists, amount and date formats, currency) and reports what is
wrong and on which line. If the official XSD is made available, pass ``schema_path=`` and the file is also
validated against it with lxml (errors with line numbers). Element *order* is only enforced in that case.

:func:`build_camt053` writes a statement of given entries (for tests and demos simulating the bank).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from lxml import etree

from everymetre.kernel.iban import IBANError, validate_iban
from everymetre.payments.amounts import AmountError, format_kopiykas, parse_amount

__all__ = [
    "CAMT053_NAMESPACES",
    "RETURN_REASONS",
    "Camt053Error",
    "Camt053Statement",
    "EntryStatus",
    "StatementEntry",
    "build_camt053",
    "parse_camt053",
]

CAMT053_NAMESPACES = {
    "001.02": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02",
    "001.08": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08",
}
_VERSION_BY_NS = {v: k for k, v in CAMT053_NAMESPACES.items()}

# ISO external return reason codes most relevant to payouts (informative; any 1-4 char code is accepted).
RETURN_REASONS: dict[str, str] = {
    "AC01": "incorrect account number",
    "AC03": "invalid creditor account number",
    "AC04": "closed account number",
    "AC06": "blocked account",
    "AG01": "transaction forbidden on this account",
    "AM04": "insufficient funds",
    "AM05": "duplication",
    "BE04": "missing creditor address",
    "BE06": "unknown end customer",
    "MD07": "end customer deceased",
    "MS02": "not specified reason (customer)",
    "MS03": "not specified reason (agent)",
    "RC01": "bank identifier incorrect",
    "RR04": "regulatory reason",
}

_STATUS_CODES = {"BOOK", "PDNG", "INFO", "FUTR"}
_CCY = re.compile(r"[A-Z]{3}")
_REASON = re.compile(r"[A-Z0-9]{1,4}")


class Camt053Error(ValueError):
    """The statement is malformed or not a valid camt.053; ``problems`` lists (line, message)."""

    def __init__(self, problems: Sequence[tuple[int | None, str]]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  line {ln if ln is not None else '?'}: {msg}" for ln, msg in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        super().__init__(f"invalid camt.053 statement ({len(self.problems)} problem(s)):\n{lines}{more}")


class EntryStatus(StrEnum):
    BOOKED = "booked"  # Sts BOOK, not returned: the payment left the programme account
    REJECTED = "rejected"  # returned/rejected by the bank (RtrInf present, or a reversal)
    PENDING = "pending"  # Sts PDNG
    INFO = "info"  # Sts INFO/FUTR: informational, not booked


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One transaction of a statement."""

    end_to_end_id: str | None  # our payment id, as sent in pain.001 (None for e.g. bank fees)
    amount_kopiykas: int
    status: EntryStatus
    booking_date: date | None
    credit_debit: str = "DBIT"  # "DBIT" money out of the programme account, "CRDT" money in (e.g. a return)
    reason_code: str | None = None  # return reason (RtrInf/Rsn/Cd or Prtry), e.g. "AC01"
    currency: str = "UAH"
    reversal: bool = False
    account_servicer_ref: str | None = None
    line: int | None = None  # source line in the parsed file

    @property
    def reason_text(self) -> str | None:
        return RETURN_REASONS.get(self.reason_code or "")


@dataclass(frozen=True, slots=True)
class Camt053Statement:
    version: str  # "001.02" or "001.08"
    message_id: str
    created_at: str
    statement_id: str
    account_iban: str | None
    entries: tuple[StatementEntry, ...] = field(default_factory=tuple)


@lru_cache(maxsize=4)
def _load_schema(path: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(path))


def _parse_date(text: str | None) -> date:
    if not text:
        raise ValueError("empty date")
    return date.fromisoformat(text.strip()[:10])


class _Reader:
    """Walks the document, collecting problems with line numbers instead of stopping at the first."""

    def __init__(self, ns: str) -> None:
        self.q = "{" + ns + "}"
        self.problems: list[tuple[int | None, str]] = []
        self._paths: dict[str, str] = {}

    def qpath(self, path: str) -> str:
        """``"Refs/EndToEndId"`` -> ``"{ns}Refs/{ns}EndToEndId"`` (cached)."""
        qp = self._paths.get(path)
        if qp is None:
            qp = self._paths[path] = "/".join(self.q + p for p in path.split("/"))
        return qp

    def problem(self, el: etree._Element | None, msg: str) -> None:
        self.problems.append((el.sourceline if el is not None else None, msg))

    def child(self, el: etree._Element, path: str, what: str, required: bool = True) -> etree._Element | None:
        found = el.find(self.qpath(path))
        if found is None and required:
            self.problem(el, f"{what}: missing <{path}> in <{etree.QName(el).localname}>")
        return found

    def text(self, el: etree._Element, path: str, what: str, required: bool = True) -> str | None:
        found = self.child(el, path, what, required)
        if found is None:
            return None
        value = (found.text or "").strip()
        if not value:
            self.problem(found, f"{what}: <{path}> is empty")
            return None
        return value

    def amount(self, el: etree._Element | None, what: str) -> tuple[int | None, str | None]:
        if el is None:
            return None, None
        ccy = el.get("Ccy")
        if ccy is None or not _CCY.fullmatch(ccy):
            self.problem(el, f"{what}: currency attribute Ccy must be a 3-letter code, got {ccy!r}")
        try:
            return parse_amount(el.text or ""), ccy
        except AmountError as exc:
            self.problem(el, f"{what}: {exc}")
            return None, ccy

    def date_choice(self, el: etree._Element, path: str, what: str, required: bool) -> date | None:
        holder = self.child(el, path, what, required)
        if holder is None:
            return None
        inner = holder.find(self.q + "Dt")
        if inner is None:
            inner = holder.find(self.q + "DtTm")
        if inner is None or not (inner.text or "").strip():
            self.problem(holder, f"{what}: <{path}> needs <Dt> or <DtTm>")
            return None
        try:
            return _parse_date(inner.text)
        except ValueError:
            self.problem(inner, f"{what}: {inner.text!r} is not an ISO date")
            return None


def parse_camt053(xml_bytes: bytes, *, schema_path: str | Path | None = None) -> Camt053Statement:
    """Parse and check a camt.053.001.02/.08 statement; raise :class:`Camt053Error` (with lines) if invalid.

    A statement with several ``<Stmt>`` blocks is flattened; an entry with several ``<TxDtls>`` (batch
    booking) yields one :class:`StatementEntry` per transaction.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        root = etree.fromstring(xml_bytes, parser)
    except etree.XMLSyntaxError as exc:
        raise Camt053Error([(exc.lineno, f"not well-formed XML: {exc.msg}")]) from None

    qn = etree.QName(root)
    version = _VERSION_BY_NS.get(qn.namespace or "")
    if qn.localname != "Document" or version is None:
        supported = ", ".join(CAMT053_NAMESPACES.values())
        raise Camt053Error([(root.sourceline, f"root element is {root.tag!r}; expected Document in one of: {supported}")])

    if schema_path is not None:
        schema = _load_schema(str(schema_path))
        if not schema.validate(etree.ElementTree(root)):
            raise Camt053Error([(e.line, f"{e.path}: {e.message}") for e in schema.error_log])

    r = _Reader(qn.namespace or "")
    q = r.q
    stmt_root = r.child(root, "BkToCstmrStmt", "document")
    if stmt_root is None:
        raise Camt053Error(r.problems)
    msg_id = r.text(stmt_root, "GrpHdr/MsgId", "group header") or ""
    created = r.text(stmt_root, "GrpHdr/CreDtTm", "group header") or ""
    stmts = stmt_root.findall(q + "Stmt")
    if not stmts:
        r.problem(stmt_root, "statement: no <Stmt> element")

    entries: list[StatementEntry] = []
    stmt_id = ""
    iban: str | None = None
    for stmt in stmts:
        stmt_id = stmt_id or (r.text(stmt, "Id", "statement") or "")
        acct_iban = r.text(stmt, "Acct/Id/IBAN", "statement account", required=False)
        if acct_iban is None and r.child(stmt, "Acct/Id", "statement account") is not None:
            pass  # non-IBAN account id (Othr) is allowed
        if acct_iban is not None:
            try:
                iban = iban or validate_iban(acct_iban)
            except IBANError as exc:
                r.problem(stmt.find(f"{q}Acct"), f"statement account: {exc}")
        for bal in stmt.iterfind(q + "Bal"):
            bwhat = f"balance at line {bal.sourceline}"
            r.amount(r.child(bal, "Amt", bwhat), f"{bwhat} amount")
            ind = r.text(bal, "CdtDbtInd", bwhat)
            if ind is not None and ind not in ("CRDT", "DBIT"):
                r.problem(bal.find(q + "CdtDbtInd"), f"{bwhat}: CdtDbtInd must be CRDT or DBIT, got {ind!r}")
        for ntry in stmt.iterfind(q + "Ntry"):
            entries.extend(_read_entry(r, ntry, version))

    if r.problems:
        raise Camt053Error(r.problems)
    return Camt053Statement(version, msg_id, created, stmt_id, iban, tuple(entries))


def _read_entry(r: _Reader, ntry: etree._Element, version: str) -> list[StatementEntry]:
    q = r.q
    line = ntry.sourceline
    what = f"entry at line {line}"
    amount, ccy = r.amount(r.child(ntry, "Amt", what), f"{what} amount")
    cd = r.text(ntry, "CdtDbtInd", what)
    if cd is not None and cd not in ("CRDT", "DBIT"):
        r.problem(ntry.find(q + "CdtDbtInd"), f"{what}: CdtDbtInd must be CRDT or DBIT, got {cd!r}")
    rvsl_text = r.text(ntry, "RvslInd", what, required=False)
    reversal = False
    if rvsl_text is not None:
        if rvsl_text not in ("true", "false", "1", "0"):
            r.problem(ntry.find(q + "RvslInd"), f"{what}: RvslInd must be true or false, got {rvsl_text!r}")
        reversal = rvsl_text in ("true", "1")
    if version == "001.02":
        sts = r.text(ntry, "Sts", what)
    else:
        sts = r.text(ntry, "Sts/Cd", what, required=False) or r.text(ntry, "Sts/Prtry", what, required=False)
        if sts is None:
            r.problem(ntry, f"{what}: missing <Sts><Cd> (camt.053.001.08 status)")
    if sts is not None and sts not in _STATUS_CODES:
        r.problem(ntry.find(q + "Sts"), f"{what}: entry status must be one of {sorted(_STATUS_CODES)}, got {sts!r}")
    booking = r.date_choice(ntry, "BookgDt", what, required=sts == "BOOK")
    if r.child(ntry, "BkTxCd", what) is None:
        pass  # reported by child()
    svcr_ref = r.text(ntry, "AcctSvcrRef", what, required=False)

    txs = ntry.findall(f"{q}NtryDtls/{q}TxDtls")
    if not txs:
        txs = [None]  # type: ignore[list-item]
    out: list[StatementEntry] = []
    explicit_total = 0
    explicit_count = 0
    for tx in txs:
        e2e: str | None = None
        tx_amount = amount
        tx_ccy = ccy
        reason: str | None = None
        returned = False
        tx_line = line
        if tx is not None:
            tx_line = tx.sourceline
            e2e = r.text(tx, "Refs/EndToEndId", what, required=False)
            if e2e == "NOTPROVIDED":
                e2e = None
            amt_el = tx.find(f"{q}Amt")  # 001.08
            if amt_el is None:
                amt_el = tx.find(f"{q}AmtDtls/{q}TxAmt/{q}Amt")
            if amt_el is None:
                amt_el = tx.find(f"{q}AmtDtls/{q}InstdAmt/{q}Amt")
            if amt_el is not None:
                tx_amount, tx_ccy = r.amount(amt_el, f"{what} transaction amount")
                if tx_amount is not None:
                    explicit_total += tx_amount
                    explicit_count += 1
            elif len(txs) > 1:
                r.problem(tx, f"{what}: batch entry with {len(txs)} transactions but no amount on this transaction")
            rtr = tx.find(f"{q}RtrInf")
            if rtr is not None:
                returned = True
                reason = r.text(rtr, "Rsn/Cd", what, required=False) or r.text(rtr, "Rsn/Prtry", what, required=False)
                if reason is None:
                    r.problem(rtr, f"{what}: return information without a reason (<Rsn><Cd> or <Rsn><Prtry>)")
                elif rtr.find(f"{q}Rsn/{q}Cd") is not None and not _REASON.fullmatch(reason):
                    r.problem(rtr, f"{what}: return reason code must be 1-4 capitals/digits, got {reason!r}")
        if returned or reversal:
            status = EntryStatus.REJECTED
        elif sts == "BOOK":
            status = EntryStatus.BOOKED
        elif sts == "PDNG":
            status = EntryStatus.PENDING
        else:
            status = EntryStatus.INFO
        if tx_amount is None or cd is None:
            continue  # a problem was recorded
        out.append(StatementEntry(
            end_to_end_id=e2e, amount_kopiykas=tx_amount, status=status, booking_date=booking, credit_debit=cd,
            reason_code=reason, currency=tx_ccy or "", reversal=reversal, account_servicer_ref=svcr_ref, line=tx_line,
        ))
    if amount is not None and explicit_count == len(txs) and explicit_total != amount:
        r.problem(ntry, f"{what}: transaction amounts add up to {format_kopiykas(explicit_total)} but the entry amount is {format_kopiykas(amount)}")
    return out


# ------------------------------------------------------------------------------------------------ writer


def _esc(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_camt053(
    entries: Iterable[StatementEntry],
    *,
    account_iban: str,
    version: str = "001.02",
    message_id: str | None = None,
    statement_id: str | None = None,
    created_at: datetime | None = None,
    opening_balance_kopiykas: int | None = None,
    currency: str = "UAH",
) -> bytes:
    """Write a camt.053 statement of ``entries`` (one ``<Ntry>`` each), as a bank would send it back.

    Booked payments are ``DBIT`` entries with bank transaction code PMNT/ICDT/DMCT; rejected ones are
    written as the bank returns them: ``CRDT`` entries with code PMNT/ICDT/RRTN and ``RtrInf/Rsn/Cd``.
    The opening balance defaults to the total debited, so the closing balance is never negative.
    """
    if version not in CAMT053_NAMESPACES:
        raise ValueError(f"version must be one of {sorted(CAMT053_NAMESPACES)}, got {version!r}")
    ns = CAMT053_NAMESPACES[version]
    iban = validate_iban(account_iban)
    items = list(entries)
    created = (created_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    created_s = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    msg = message_id or f"STMT-{created:%Y%m%d%H%M%S}-{secrets.token_hex(4)}"
    sid = statement_id or msg
    debits = sum(e.amount_kopiykas for e in items if e.credit_debit == "DBIT")
    credits = sum(e.amount_kopiykas for e in items if e.credit_debit != "DBIT")
    opening = debits if opening_balance_kopiykas is None else opening_balance_kopiykas
    closing = opening - debits + credits
    day = created.date().isoformat()

    def bal(code: str, amount: int) -> str:
        ind = "CRDT" if amount >= 0 else "DBIT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"{currency}\">{format_kopiykas(abs(amount))}</Amt>"
            f"<CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>\n"
        )

    parts = [
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{ns}"><BkToCstmrStmt>\n'
        f"<GrpHdr><MsgId>{_esc(msg)}</MsgId><CreDtTm>{created_s}</CreDtTm></GrpHdr>\n"
        f"<Stmt><Id>{_esc(sid)}</Id><CreDtTm>{created_s}</CreDtTm>"
        f"<Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>\n",
        bal("OPBD", opening),
        bal("CLBD", closing),
    ]
    for i, e in enumerate(items, 1):
        rejected = e.status is EntryStatus.REJECTED
        sts = {EntryStatus.BOOKED: "BOOK", EntryStatus.REJECTED: "BOOK", EntryStatus.PENDING: "PDNG", EntryStatus.INFO: "INFO"}[e.status]
        sts_xml = f"<Sts>{sts}</Sts>" if version == "001.02" else f"<Sts><Cd>{sts}</Cd></Sts>"
        amount = format_kopiykas(e.amount_kopiykas)
        ccy = e.currency or currency
        booking = f"<BookgDt><Dt>{e.booking_date.isoformat()}</Dt></BookgDt><ValDt><Dt>{e.booking_date.isoformat()}</Dt></ValDt>" if e.booking_date else ""
        ref = _esc(e.account_servicer_ref or f"{sid}-{i}")
        subfam = "RRTN" if rejected else "DMCT"
        refs = f"<Refs><EndToEndId>{_esc(e.end_to_end_id)}</EndToEndId></Refs>" if e.end_to_end_id else ""
        if version == "001.02":
            tx_amt = f"<AmtDtls><TxAmt><Amt Ccy=\"{ccy}\">{amount}</Amt></TxAmt></AmtDtls>"
        else:
            tx_amt = f"<Amt Ccy=\"{ccy}\">{amount}</Amt><CdtDbtInd>{e.credit_debit}</CdtDbtInd>"
        rtr = f"<RtrInf><Rsn><Cd>{_esc(e.reason_code or 'NARR')}</Cd></Rsn></RtrInf>" if rejected else ""
        parts.append(
            f"<Ntry><NtryRef>{i}</NtryRef><Amt Ccy=\"{ccy}\">{amount}</Amt><CdtDbtInd>{e.credit_debit}</CdtDbtInd>"
            + ("<RvslInd>true</RvslInd>" if e.reversal else "")
            + f"{sts_xml}{booking}<AcctSvcrRef>{ref}</AcctSvcrRef>"
            f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>{subfam}</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f"<NtryDtls><TxDtls>{refs}{tx_amt}{rtr}</TxDtls></NtryDtls></Ntry>\n"
        )
    parts.append("</Stmt></BkToCstmrStmt></Document>\n")
    return "".join(parts).encode("utf-8")
