"""The whole schema: importing this module registers every table on `Base.metadata`.

Each feature keeps its models beside its code (claims in store.models, form drafts in store.drafts, linkage
and payments in their packages); migrations and tests that need every table import them through here.
"""

from __future__ import annotations

import everymetre.linkage.models  # noqa: F401
import everymetre.payments.models  # noqa: F401
import everymetre.store.drafts  # noqa: F401
import everymetre.transparency.models  # noqa: F401
from everymetre.store.models import Base

metadata = Base.metadata
