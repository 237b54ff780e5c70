"""The whole schema: importing this module registers every table on `Base.metadata`.

Each feature keeps its models in its own package (`<feature>/models.py`); migrations and tests that need
every table import them through here. A new feature's models are added with one line below.
"""

from __future__ import annotations

import everymetre.accounts.models  # noqa: F401
import everymetre.audit.models  # noqa: F401
import everymetre.claims.models  # noqa: F401
import everymetre.idempotency.models  # noqa: F401
import everymetre.linkage.models  # noqa: F401
import everymetre.notifications.models  # noqa: F401
import everymetre.payments.models  # noqa: F401
import everymetre.transparency.models  # noqa: F401
from everymetre.store.base import Base

metadata = Base.metadata
