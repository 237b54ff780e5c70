"""The whole schema: importing this module registers every table on `Base.metadata`.

Each feature keeps its models in its own package (`<feature>/models.py`); migrations and tests that need
every table import them through here. A new feature's models are added with one line below.
"""

from __future__ import annotations

import everymetre.accounts.models
import everymetre.audit.models
import everymetre.claims.models
import everymetre.idempotency.models
import everymetre.linkage.models
import everymetre.notifications.models
import everymetre.payments.certificate_models
import everymetre.payments.models
import everymetre.programme.models
import everymetre.transparency.models  # noqa: F401
from everymetre.store.base import Base

metadata = Base.metadata
