"""Documents given to people: the commission's decision as a PDF, its SHA-256 recorded in the audit trail."""
