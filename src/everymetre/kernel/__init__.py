"""The pure kernel every feature shares: domain errors with stable codes, identifiers (RNOKPP check digit,
claim references, masking), IBAN, Ukraine's oblasts, transliteration. No I/O, no imports of features."""
