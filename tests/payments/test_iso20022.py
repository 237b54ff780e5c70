from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from everymetre.payments.amounts import AmountError, format_kopiykas, parse_amount
from everymetre.payments.iso20022 import (
    PAIN001_NS,
    CreditTransfer,
    Pain001Error,
    Pain001ValidationError,
    PaymentBatch,
    build_pain001,
    make_message_id,
    pain001_xsd_path,
    read_pain001,
    validate_pain001,
    write_pain001,
)

from .conftest import make_batch

NS = {"p": PAIN001_NS}


def test_official_xsd_is_shipped() -> None:
    path = pain001_xsd_path()
    assert path.name == "pain.001.001.09.xsd"
    assert "sepaxml" in str(path)


def test_output_is_schema_valid(batch: PaymentBatch) -> None:
    xml = build_pain001(batch)
    validate_pain001(xml)  # does not raise
    validate_pain001(build_pain001(batch, pretty=True))


def test_header_fields(batch: PaymentBatch) -> None:
    root = etree.fromstring(build_pain001(batch))
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:MsgId", namespaces=NS) == batch.message_id
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm", namespaces=NS) == "2026-01-15T10:30:00Z"
    assert root.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", namespaces=NS) == "3"
    assert root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:DbtrAgt/p:FinInstnId/p:ClrSysMmbId/p:MmbId", namespaces=NS) == "820172"
    assert root.findtext("p:CstmrCdtTrfInitn/p:PmtInf/p:ReqdExctnDt/p:Dt", namespaces=NS) == "2026-01-16"


def test_bic_agent(batch: PaymentBatch) -> None:
    b = replace(batch, debtor=replace(batch.debtor, bic="PBANUA2X"))
    root = etree.fromstring(build_pain001(b))
    assert root.findtext(".//p:DbtrAgt/p:FinInstnId/p:BICFI", namespaces=NS) == "PBANUA2X"
    validate_pain001(etree.tostring(root))


def test_transactions_are_traceable(batch: PaymentBatch) -> None:
    sent = read_pain001(build_pain001(batch))
    assert [s.end_to_end_id for s in sent] == [p.payment_id for p in batch.payments]
    assert sent[1].remittance == "Claim CLM-2026-0000001; decision DEC-1"
    assert sent[1].creditor_iban == batch.payments[1].creditor_iban
    assert sent[1].creditor_name == "Коваленко Олена Петрівна"
    assert {s.currency for s in sent} == {"UAH"}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=10**15), min_size=1, max_size=20))
def test_amounts_round_trip_exactly_and_control_sum(amounts: list[int]) -> None:
    xml = build_pain001(make_batch(amounts=amounts))
    validate_pain001(xml)
    assert [s.amount_kopiykas for s in read_pain001(xml)] == amounts
    root = etree.fromstring(xml)
    for path in ("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", "p:CstmrCdtTrfInitn/p:PmtInf/p:CtrlSum"):
        assert parse_amount(root.findtext(path, namespaces=NS)) == sum(amounts)


@given(st.integers(min_value=0, max_value=10**18 - 1))
def test_format_parse_inverse(k: int) -> None:
    text = format_kopiykas(k)
    assert parse_amount(text) == k
    assert text.count(".") == 1 and len(text.split(".")[1]) == 2


def test_amount_formatting_examples() -> None:
    assert format_kopiykas(0) == "0.00"
    assert format_kopiykas(5) == "0.05"
    assert format_kopiykas(123456) == "1234.56"
    assert parse_amount("1234.5") == 123450
    assert parse_amount("7") == 700
    assert parse_amount("1.2300") == 123
    for bad in (1.5, True, -1):
        with pytest.raises(AmountError):
            format_kopiykas(bad)  # type: ignore[arg-type]
    for bad_text in ("1.234", "-1.00", "1e3", "abc", ""):
        with pytest.raises(AmountError):
            parse_amount(bad_text)


def test_broken_file_is_rejected_with_line(batch: PaymentBatch) -> None:
    xml = build_pain001(batch)
    bad = xml.replace(b"<PmtMtd>TRF</PmtMtd>", b"<PmtMtd>XXX</PmtMtd>")
    with pytest.raises(Pain001ValidationError) as exc:
        validate_pain001(bad)
    assert exc.value.errors[0][0] == 4
    assert "PmtMtd" in str(exc.value) and "line 4" in str(exc.value)


def test_missing_required_element_is_rejected(batch: PaymentBatch) -> None:
    xml = build_pain001(batch)
    bad = xml.replace(b"<EndToEndId>PAY-00000001</EndToEndId>", b"")
    with pytest.raises(Pain001ValidationError, match="line 6"):
        validate_pain001(bad)


def test_malformed_xml_is_rejected(batch: PaymentBatch) -> None:
    with pytest.raises(Pain001ValidationError, match="not well-formed"):
        validate_pain001(build_pain001(batch)[:-40])


def test_control_sum_mismatch_is_rejected(batch: PaymentBatch) -> None:
    xml = build_pain001(batch)
    bad = xml.replace(b"<CtrlSum>300000.03</CtrlSum>", b"<CtrlSum>300000.04</CtrlSum>", 1)
    assert bad != xml
    with pytest.raises(Pain001ValidationError, match=r"CtrlSum is 300000\.04 but the amounts add up to 300000\.03"):
        validate_pain001(bad)


def test_nb_of_txs_mismatch_is_rejected(batch: PaymentBatch) -> None:
    bad = build_pain001(batch).replace(b"<NbOfTxs>3</NbOfTxs>", b"<NbOfTxs>4</NbOfTxs>")
    with pytest.raises(Pain001ValidationError, match="NbOfTxs is 4 but there are 3"):
        validate_pain001(bad)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"amount_kopiykas": 0}, "positive int"),
        ({"amount_kopiykas": 10.5}, "positive int"),
        ({"payment_id": "X" * 36}, "1..35"),
        ({"creditor_iban": "UA213223130000026007233566002"}, "checksum failed"),
        ({"creditor_name": ""}, "creditor name"),
        ({"creditor_name": "bad\x01name"}, "U+0001"),
        ({"remittance": "x" * 141}, "remittance"),
    ],
)
def test_bad_payments_are_refused_before_writing(batch: PaymentBatch, change: dict[str, object], fragment: str) -> None:
    payments = list(batch.payments)
    payments[1] = replace(payments[1], **change)  # type: ignore[arg-type]
    with pytest.raises(Pain001Error) as exc:
        build_pain001(replace(batch, payments=payments))
    assert fragment in str(exc.value) and "payment #2" in str(exc.value)


def test_batch_level_errors(batch: PaymentBatch) -> None:
    with pytest.raises(Pain001Error, match="duplicate payment id"):
        build_pain001(replace(batch, payments=[batch.payments[0], batch.payments[0]]))
    with pytest.raises(Pain001Error, match="no payments"):
        build_pain001(replace(batch, payments=[]))
    with pytest.raises(Pain001Error, match="timezone-aware"):
        build_pain001(replace(batch, created_at=datetime(2026, 1, 1)))
    with pytest.raises(Pain001Error, match="debtor IBAN"):
        build_pain001(replace(batch, debtor=replace(batch.debtor, iban="UA00")))


def test_special_characters_are_escaped(batch: PaymentBatch) -> None:
    payments = [replace(batch.payments[0], creditor_name="O'Brien & <Sons> \"Ltd\"")]
    xml = build_pain001(replace(batch, payments=payments))
    validate_pain001(xml)
    assert read_pain001(xml)[0].creditor_name == "O'Brien & <Sons> \"Ltd\""


def test_message_ids_are_unique_and_short() -> None:
    ids = {make_message_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) <= 35 for i in ids)


def test_write_is_atomic(tmp_path, batch: PaymentBatch) -> None:  # type: ignore[no-untyped-def]
    xml = build_pain001(batch)
    out = write_pain001(xml, tmp_path / "batch.xml")
    assert out.read_bytes() == xml
    assert not (tmp_path / "batch.xml.tmp").exists()


def test_creditor_transfer_default_remittance() -> None:
    ct = CreditTransfer("P1", "CLM-1", "DEC-9", 1, "N", "UA213223130000026007233566001")
    assert ct.remittance_text() == "Claim CLM-1; decision DEC-9"
