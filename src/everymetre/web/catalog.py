"""The message catalogue: extract the pages' messages and update the .po files, or report what is missing.

    python -m everymetre.web.catalog          # update locale/*/LC_MESSAGES/messages.po, keeping translations
    python -m everymetre.web.catalog --check  # exit 1 if any message has no translation

Messages come from the templates (Jinja's `_`/`ngettext`), from `N_`/`gettext` in the web package, and the
domain's sentences the pages show (`translate_domain`), so nothing a person reads is left in English.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from everymetre.web.i18n import LANGUAGES, LOCALE_DIR

PACKAGE = Path(__file__).resolve().parent.parent  # every feature package: its pages, templates and texts
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
# domain sentences shown on pages as they are (no values inside): translated through the catalogue
DOMAIN_SENTENCES = (
    "The damage date must be on or after 24 February 2022, when the full-scale invasion began.",
    "The damage date cannot be in the future.",
    "an apartment or room needs its apartment number",
    "give both latitude and longitude, or neither",
    "the taxpayer number (RNOKPP) must be exactly 10 digits",
    "the taxpayer number (RNOKPP) has a wrong check digit: please check it for a typo",
    "the birth date must be between 1900 and today",
    "mark at most one owner as the applicant",
    "the same taxpayer number appears twice among the owners",
    "Say why you disagree with the decision.",
    "Name at least one document the applicant must provide.",
    "The deadline for documents must be after today.",
    "The inspection date cannot be in the past.",
    "The inspection date cannot be in the future.",
    "The inspection cannot be before the damage.",
    "This move needs a decision with its reasons.",
    "Message sent",  # the staff timeline's notifications (everymetre.notifications.views)
    "Message waiting to be sent",
    "Message could not be sent",
    "Add the photos the law asks for before submitting: close-up views of the damage and wide views of the home.",
    ("Remote verification from photos needs a photo taken at the home: its own location (GPS in the photo's data) "
     "within the set distance of the home's coordinates. Inspect on site, or use satellite imagery."),
    "Give the reference of the claim this one duplicates.",
    "The claim has changed since you loaded it",
    "The file is too large",
    "This kind of file is not accepted",
    "Some details need correcting",
    "Only photos (JPEG, PNG, WebP) and PDF documents are accepted; this file is neither.",
    "The image is damaged or not really an image; please upload the original photo.",
    "The file is empty.",
    "Send fewer or smaller files.",
    "control characters (such as NUL or terminal escapes) are not allowed",
    "text-direction override characters (U+202A-U+202E, U+2066-U+2069) are not allowed",
    "line breaks and tabs are not allowed here",
)


def extract() -> Catalog:
    catalog = Catalog(project="everymetre", domain="messages")
    method_map = [("**/migrations/**", "ignore"), ("**/templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for filename, lineno, message, comments, _context in extract_from_dir(
            PACKAGE, method_map=method_map, options_map=options, keywords=KEYWORDS):
        if filename.endswith("catalog.py"):
            continue
        catalog.add(message, locations=[(filename, lineno)], auto_comments=comments)
    for sentence in DOMAIN_SENTENCES:
        catalog.add(sentence, locations=[("domain", 0)])
    return catalog


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"


def update(lang: str, template: Catalog) -> Catalog:
    path = po_path(lang)
    if path.exists():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
    else:
        catalog = Catalog(locale=lang, project="everymetre", domain="messages")
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=120, omit_header=False, sort_output=False, include_lineno=False)
    return catalog


def missing(lang: str) -> list[str]:
    """Messages in the code with no (or a fuzzy) translation in `lang`'s catalogue."""
    with po_path(lang).open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    out = []
    for message in extract():
        if not message.id:
            continue
        found = catalog.get(message.id)
        strings = [] if found is None else (list(found.string) if isinstance(found.string, (tuple, list)) else [found.string])
        if found is None or found.fuzzy or not all(strings):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def main(argv: list[str]) -> int:
    if "--check" in argv:
        gaps = {lang: missing(lang) for lang in LANGUAGES if lang != "en"}
        for lang, ids in gaps.items():
            for msgid in ids:
                print(f"{lang}: untranslated: {msgid}")
        return 1 if any(gaps.values()) else 0
    template = extract()
    for lang in LANGUAGES:
        if lang != "en":
            update(lang, template)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
