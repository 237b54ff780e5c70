"""Public transparency: a verifiable log of decisions and payment batches (RFC 6962 style), open statistics
with small-cell suppression, and the export to the Register of Damage for Ukraine (RD4U)."""
