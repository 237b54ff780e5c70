"""Linkage on the store, one import for its callers (API, pages, CLI). The work is split by what it does:

* :mod:`.extract` — :func:`extract_records`, one row per person in a claim, and reviewers' stored decisions;
* :mod:`.run` — :func:`run_linkage`, the whole run (link, findings, review flags, audit);
* :mod:`.writing` — findings upserted by fingerprint, flags set and cleared, audit events in bulk;
* :mod:`.queries` — :func:`list_findings`, :func:`finding_detail`: what the API and the reviewers' page show;
* :mod:`.review` — :func:`do_review`, a reviewer's match / not-a-match (a confirmed duplicate moves the later
  claims to ``duplicate``);
* :mod:`.override` — :func:`do_override`, letting a legitimately repeated claim through a hold.
"""

from everymetre.linkage.common import FLAG_PREFIX, PERSON_KINDS, REVIEWER_ROLES, LinkageError, model_path
from everymetre.linkage.extract import extract_records
from everymetre.linkage.override import do_override
from everymetre.linkage.queries import COMPARE_FIELDS, finding_detail, get_finding, latest_run, list_findings
from everymetre.linkage.review import do_review
from everymetre.linkage.run import LinkReport, default_flag_score, run_linkage, write_pairs_csv
from everymetre.linkage.writing import fingerprint

__all__ = [
    "COMPARE_FIELDS",
    "FLAG_PREFIX",
    "PERSON_KINDS",
    "REVIEWER_ROLES",
    "LinkReport",
    "LinkageError",
    "default_flag_score",
    "do_override",
    "do_review",
    "extract_records",
    "finding_detail",
    "fingerprint",
    "get_finding",
    "latest_run",
    "list_findings",
    "model_path",
    "run_linkage",
    "write_pairs_csv",
]
