from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from everymetre.kernel.iban import make_ua_iban
from everymetre.payments.iso20022 import CreditTransfer, DebtorAccount, PaymentBatch


def make_batch(n: int = 3, amounts: list[int] | None = None, **kw: object) -> PaymentBatch:
    amounts = amounts if amounts is not None else [100_000_00 + i for i in range(n)]
    payments = [
        CreditTransfer(
            payment_id=f"PAY-{i:08d}",
            claim_reference=f"CLM-2026-{i:07d}",
            decision_id=f"DEC-{i}",
            amount_kopiykas=a,
            creditor_name="Коваленко Олена Петрівна",
            creditor_iban=make_ua_iban("322313", 2600_0000_0000 + i),
        )
        for i, a in enumerate(amounts)
    ]
    defaults: dict[str, object] = dict(
        batch_id="BATCH-2026-0001",
        message_id="EMPAY-20260115103000-0123456789",
        created_at=datetime(2026, 1, 15, 10, 30, tzinfo=UTC),
        requested_execution_date=date(2026, 1, 16),
        debtor=DebtorAccount(name="eRecovery programme account", iban=make_ua_iban("820172", 35_2100_0000_1234)),
        payments=payments,
    )
    defaults.update(kw)
    return PaymentBatch(**defaults)  # type: ignore[arg-type]


@pytest.fixture
def batch() -> PaymentBatch:
    return make_batch()
