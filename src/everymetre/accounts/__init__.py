"""Accounts: users and their roles and oblasts, sign-in, who is acting (`Principal`, `SYSTEM`), and the one
permission table (`permissions.py`: action -> roles, scope, segregation of duties; `require()`)."""
