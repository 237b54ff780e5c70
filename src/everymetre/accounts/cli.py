"""`everymetre users ...`: accounts for staff and claimants."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from everymetre.cli.common import engine, fail, out, require_schema
from everymetre.kernel.errors import DomainError

users_app = typer.Typer(help="Staff and claimant accounts.", no_args_is_help=True)


@users_app.command("add")
def users_add(email: Annotated[str, typer.Argument(help="Sign-in e-mail")],
              role: Annotated[str, typer.Option(help="claimant, officer, inspector, commission, payments, auditor, admin")],
              oblast: Annotated[list[str], typer.Option(help="Oblast the staff member works in (repeat for more)")] = [],  # noqa: B006
              name: Annotated[str, typer.Option(help="Full name")] = "",
              all_oblasts: Annotated[bool, typer.Option("--all-oblasts", help="Works in every oblast (a national team)")] = False,
              password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input")] = False) -> None:
    """Create an account. The password is read from standard input with --password-stdin."""
    from everymetre.accounts.actions import do_create_user
    from everymetre.store.db import session_factory

    if not password_stdin:
        fail("give the password on standard input with --password-stdin (it is never taken as an argument)")
    password = sys.stdin.readline().rstrip("\r\n")
    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            if all_oblasts:
                from everymetre.accounts.roster import check_assignment, parse_role

                check_assignment(parse_role(role), list(oblast), all_oblasts)
            user = do_create_user(session, None, email, password, role, oblast, full_name=name, all_oblasts=all_oblasts)
        except DomainError as exc:
            fail(f"{email}: {exc.detail}")
    scope = "all oblasts" if role in ("auditor", "admin") or all_oblasts else ", ".join(sorted(user.oblast_codes))
    out.print(f"created {user.email} ({role}){' for ' + scope if scope else ''}")


@users_app.command("reset-password")
def users_reset_password(email: Annotated[str, typer.Argument(help="The account's sign-in e-mail")],
                         base_url: Annotated[str, typer.Option(help="The site's address, for the link")] = "http://127.0.0.1:8000") -> None:
    """Print a one-time link (valid one hour) with which the account's owner sets a new password. Give it to them
    by a channel you trust; it is the same link the notifications outbox e-mails."""
    from everymetre.accounts.passwords import do_request_password_reset, reset_link
    from everymetre.config import get_settings
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        token = do_request_password_reset(session, get_settings(), None, email)
    if token is None:
        fail(f"{email}: there is no active account with this e-mail")
    out.print(reset_link(base_url, token), soft_wrap=True)


@users_app.command("deactivate")
def users_deactivate(email: Annotated[str, typer.Argument(help="The account's sign-in e-mail")]) -> None:
    """Close an account: it can no longer sign in, and its page sessions and API tokens end at once."""
    from everymetre.accounts.passwords import do_deactivate_user
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            user = do_deactivate_user(session, None, email)
        except DomainError as exc:
            fail(f"{email}: {exc.detail}")
    out.print(f"deactivated {user.email}; every session of it has ended")


@users_app.command("list")
def users_list(role: Annotated[str | None, typer.Option(help="Only this role")] = None,
               oblast: Annotated[str | None, typer.Option(help="Only accounts covering this oblast")] = None,
               as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line")] = False) -> None:
    """Every account: e-mail, role, oblasts, active or not."""
    import json

    from everymetre.accounts.roster import list_users
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            rows = list_users(session, None, role=role, oblast=oblast)
        except DomainError as exc:
            fail(exc.detail)
    for a in rows:
        if as_json:
            out.print(json.dumps({"email": a.email, "name": a.full_name, "role": a.role, "oblasts": list(a.oblasts),
                                  "all_oblasts": a.all_oblasts, "active": a.is_active,
                                  "created_at": a.created_at.isoformat()}, ensure_ascii=False),
                      highlight=False, soft_wrap=True)
        else:
            scope = "all oblasts" if a.all_oblasts else ", ".join(a.oblasts) or "-"
            state = "" if a.is_active else "  (deactivated)"
            out.print(f"{a.email:40} {a.role:11} {scope}{state}", highlight=False, soft_wrap=True)
    if not as_json:
        out.print(f"{len(rows)} account(s)", highlight=False)


@users_app.command("set-role")
def users_set_role(email: Annotated[str, typer.Argument(help="The account's e-mail")],
                   role: Annotated[str, typer.Option(help="officer, inspector, commission, payments, auditor, admin")],
                   oblast: Annotated[list[str], typer.Option(help="Oblast (repeat for more); replaces the old ones")] = [],  # noqa: B006
                   all_oblasts: Annotated[bool, typer.Option("--all-oblasts", help="Works in every oblast")] = False) -> None:
    """Change a staff member's role and oblasts (audited on the account's trail)."""
    from everymetre.accounts.roster import do_set_role
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            user = do_set_role(session, None, email, role, oblast, all_oblasts)
        except DomainError as exc:
            fail(f"{email}: {exc.detail}")
        scope = "all oblasts" if user.all_oblasts or role in ("auditor", "admin") else ", ".join(sorted(user.oblast_codes))
        out.print(f"{user.email} is now {user.role} for {scope}", highlight=False)


service_app = typer.Typer(help="Service accounts for integrating systems (OAuth2 client credentials).",
                          no_args_is_help=True)


@service_app.command("add")
def service_add(name: Annotated[str, typer.Argument(help="The system's name, e.g. 'Kharkiv ASC register'")],
                role: Annotated[str, typer.Option(help="officer, inspector, payments or auditor")],
                oblast: Annotated[list[str], typer.Option(help="Oblast it works in (repeat for more)")] = [],  # noqa: B006
                all_oblasts: Annotated[bool, typer.Option("--all-oblasts", help="Works in every oblast")] = False) -> None:
    """Create a client; prints its id and secret once (give the secret to the system by a channel you trust)."""
    from everymetre.accounts.service_accounts import do_create_service_account
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            client, secret = do_create_service_account(session, None, name, role, list(oblast), all_oblasts)
        except DomainError as exc:
            fail(f"{name}: {exc.detail}")
    out.print(f"client_id {client.client_id}\nclient_secret {secret}", highlight=False, soft_wrap=True)


@service_app.command("list")
def service_list() -> None:
    """Every client: id, name, role, oblasts, revoked or not."""
    from everymetre.accounts.service_accounts import list_service_accounts
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        rows = list_service_accounts(session, None)
    for s in rows:
        scope = "all oblasts" if s.all_oblasts else ", ".join(s.oblasts)
        out.print(f"{s.client_id}  {s.role:9} {scope:30} {s.name}{'' if s.active else '  (revoked)'}",
                  highlight=False, soft_wrap=True)
    out.print(f"{len(rows)} service account(s)", highlight=False)


@service_app.command("rotate")
def service_rotate(client_id: Annotated[str, typer.Argument(help="The client id (svc_...)")]) -> None:
    """A new secret, printed once; the old one and every token it got stop working at once."""
    from everymetre.accounts.service_accounts import do_rotate_secret
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            secret = do_rotate_secret(session, None, client_id)
        except DomainError as exc:
            fail(f"{client_id}: {exc.detail}")
    out.print(f"client_secret {secret}", highlight=False, soft_wrap=True)


@service_app.command("revoke")
def service_revoke(client_id: Annotated[str, typer.Argument(help="The client id (svc_...)")]) -> None:
    """End a client for good: no new tokens, and its tokens stop working at once."""
    from everymetre.accounts.service_accounts import do_revoke_service_account
    from everymetre.store.db import session_factory

    eng = engine()
    require_schema(eng)
    with session_factory(eng)() as session:
        try:
            do_revoke_service_account(session, None, client_id)
        except DomainError as exc:
            fail(f"{client_id}: {exc.detail}")
    out.print(f"revoked {client_id}; its tokens have ended", highlight=False)
