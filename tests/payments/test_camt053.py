from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from everymetre.kernel.iban import make_ua_iban
from everymetre.payments.camt053 import (
    Camt053Error,
    EntryStatus,
    StatementEntry,
    build_camt053,
    parse_camt053,
)
from everymetre.payments.iso20022 import build_pain001, read_pain001

from .conftest import make_batch

ACCOUNT = make_ua_iban("820172", 35_2100_0000_1234)
CREATED = datetime(2026, 1, 17, 8, 0, tzinfo=UTC)


def _entries() -> list[StatementEntry]:
    return [
        StatementEntry("PAY-00000000", 100_000_00, EntryStatus.BOOKED, date(2026, 1, 16)),
        StatementEntry("PAY-00000001", 150_000_55, EntryStatus.REJECTED, date(2026, 1, 17), credit_debit="CRDT", reason_code="AC01"),
        StatementEntry("PAY-00000002", 7, EntryStatus.REJECTED, date(2026, 1, 17), credit_debit="CRDT", reason_code="AM05"),
        StatementEntry("PAY-00000003", 1, EntryStatus.PENDING, None),
    ]


def _key(e: StatementEntry) -> tuple[object, ...]:
    return (e.end_to_end_id, e.amount_kopiykas, e.status, e.booking_date, e.credit_debit, e.reason_code)


@pytest.mark.parametrize("version", ["001.02", "001.08"])
def test_round_trip(version: str) -> None:
    xml = build_camt053(_entries(), account_iban=ACCOUNT, version=version, created_at=CREATED, message_id="STMT-1")
    st_ = parse_camt053(xml)
    assert st_.version == version
    assert st_.message_id == "STMT-1"
    assert st_.account_iban == ACCOUNT
    assert [_key(e) for e in st_.entries] == [_key(e) for e in _entries()]
    rejected = st_.entries[1]
    assert rejected.reason_text == "incorrect account number"
    assert all(e.line is not None for e in st_.entries)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 10**15), st.sampled_from([EntryStatus.BOOKED, EntryStatus.REJECTED]), st.sampled_from(["AC01", "AC04", "AM05", "MS03"])),
        min_size=1, max_size=15,
    ),
    st.sampled_from(["001.02", "001.08"]),
)
def test_round_trip_property(items: list[tuple[int, EntryStatus, str]], version: str) -> None:
    entries = [
        StatementEntry(
            f"PAY-{i}", amt, status, date(2026, 2, 1),
            credit_debit="DBIT" if status is EntryStatus.BOOKED else "CRDT",
            reason_code=code if status is EntryStatus.REJECTED else None,
        )
        for i, (amt, status, code) in enumerate(items)
    ]
    parsed = parse_camt053(build_camt053(entries, account_iban=ACCOUNT, version=version)).entries
    assert [_key(e) for e in parsed] == [_key(e) for e in entries]


def test_pain001_to_camt053_reconciles() -> None:
    """What we sent comes back by end-to-end id with the same amounts."""
    sent = read_pain001(build_pain001(make_batch(n=5)))
    statement = [StatementEntry(s.end_to_end_id, s.amount_kopiykas, EntryStatus.BOOKED, date(2026, 1, 16)) for s in sent]
    back = {e.end_to_end_id: e.amount_kopiykas for e in parse_camt053(build_camt053(statement, account_iban=ACCOUNT)).entries}
    assert back == {s.end_to_end_id: s.amount_kopiykas for s in sent}


def _xml(version: str = "001.02") -> bytes:
    return build_camt053(_entries(), account_iban=ACCOUNT, version=version, created_at=CREATED)


def _problem_text(xml: bytes) -> str:
    with pytest.raises(Camt053Error) as exc:
        parse_camt053(xml)
    return str(exc.value)


def test_malformed_xml_reports_line() -> None:
    text = _problem_text(_xml()[:-30])
    assert "not well-formed" in text and "line 11" in text


def test_wrong_document_type() -> None:
    xml = build_pain001(make_batch())
    assert "expected Document in one of" in _problem_text(xml)


def test_invalid_values_report_what_and_where() -> None:
    xml = _xml().replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>DEBIT</CdtDbtInd>")
    xml = xml.replace(b">0.07<", b">0.075<")
    xml = xml.replace(b"<Sts>PDNG</Sts>", b"<Sts>DONE</Sts>")
    text = _problem_text(xml)
    assert "line 7: entry at line 7: CdtDbtInd must be CRDT or DBIT, got 'DEBIT'" in text
    assert "line 9: entry at line 9 amount: '0.075' has fractions of a kopiyka" in text
    assert "got 'DONE'" in text


def test_missing_required_elements() -> None:
    xml = _xml().replace(b"<BookgDt><Dt>2026-01-16</Dt></BookgDt>", b"").replace(b"<MsgId>", b"<MsgIdX>", 1).replace(b"</MsgId>", b"</MsgIdX>", 1)
    text = _problem_text(xml)
    assert "missing <GrpHdr/MsgId>" in text
    assert "missing <BookgDt>" in text


def test_return_without_reason_rejected() -> None:
    xml = _xml().replace(b"<Rsn><Cd>AC01</Cd></Rsn>", b"")
    assert "return information without a reason" in _problem_text(xml)


def test_bad_currency_and_date() -> None:
    xml = _xml("001.08").replace(b'Ccy="UAH">1000', b'Ccy="hryvnia">1000', 1).replace(b"<BookgDt><Dt>2026-01-16", b"<BookgDt><Dt>16.01.2026")
    text = _problem_text(xml)
    assert "Ccy must be a 3-letter code" in text
    assert "'16.01.2026' is not an ISO date" in text


def test_entry_and_transaction_amounts_must_agree() -> None:
    xml = _xml().replace(b"<TxAmt><Amt Ccy=\"UAH\">100000.00</Amt>", b"<TxAmt><Amt Ccy=\"UAH\">100000.01</Amt>")
    assert "transaction amounts add up to 100000.01 but the entry amount is 100000.00" in _problem_text(xml)


def test_batch_booked_entry_yields_one_entry_per_transaction() -> None:
    xml = _xml().decode()
    first_tx = xml.index("<TxDtls>")
    end_tx = xml.index("</TxDtls>") + len("</TxDtls>")
    extra = '<TxDtls><Refs><EndToEndId>PAY-X</EndToEndId></Refs><AmtDtls><TxAmt><Amt Ccy="UAH">40000.00</Amt></TxAmt></AmtDtls></TxDtls>'
    tx = xml[first_tx:end_tx].replace("100000.00", "60000.00")
    xml = xml[:first_tx] + tx + extra + xml[end_tx:]
    parsed = parse_camt053(xml.encode()).entries
    assert [(e.end_to_end_id, e.amount_kopiykas) for e in parsed[:2]] == [("PAY-00000000", 60_000_00), ("PAY-X", 40_000_00)]


def test_optional_official_schema_hook(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # a stand-in XSD that accepts nothing but <Other>, to show schema errors surface with lines
    xsd = tmp_path / "strict.xsd"
    xsd.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02" '
        'elementFormDefault="qualified"><xs:element name="Other" type="xs:string"/></xs:schema>'
    )
    with pytest.raises(Camt053Error, match="line 2"):
        parse_camt053(_xml(), schema_path=xsd)
