"""Commands that set up and read the register: init, users, items, the evidence matrix, evidence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from signoff.cli.app import DATE, OUTPUT, Context, pass_ctx
from signoff.domain.roles import ROLES
from signoff.render import output

ITEM_COLUMNS = [
    ("ref", "Ref"),
    ("kind", "Kind"),
    ("state", "State"),
    ("rag", "RAG"),
    ("due", "Due"),
    ("owner", "Owner"),
    ("title", "Title"),
]


@click.command()
@click.option("--secretary", required=True, metavar="NAME", help="The executive group's secretary, the first user.")
@click.option(
    "--workflows",
    "workflows_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of workflow .toml files to pin in the register (default: the shipped ones).",
)
@click.option(
    "--max-evidence-mib",
    type=click.IntRange(min=1),
    metavar="N",
    help="The largest evidence file the register takes, in MiB (default 512).",
)
@pass_ctx
def init(c: Context, secretary: str, workflows_dir: Path | None, max_evidence_mib: int | None) -> None:
    """Create the register's database, pin its workflow rules, and add its first user (a secretary)."""
    from signoff.services.register import init_register

    database_id = init_register(c.db, secretary, workflows_dir, max_evidence_mib=max_evidence_mib)
    output.message(f"Created register {c.db} (id {database_id}) with secretary {secretary}.")


@click.group()
def user() -> None:
    """Users and their roles: secretary, chair, member, auditor."""


@user.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES), help="Repeat for several.")
@pass_ctx
def user_add(c: Context, name: str, roles: tuple[str, ...]) -> None:
    """Add a user with one or more roles (secretary only)."""
    from signoff.services.register import add_user

    add_user(c.db, c.who(), name, list(roles))
    output.message(f"Added {name} as {', '.join(sorted(set(roles)))}.")


@user.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def user_list(c: Context, as_json: bool) -> None:
    """List the register's users and their roles."""
    from signoff.services.views import users

    rows = users(c.db)
    if as_json:
        output.emit_json(rows)
    else:
        output.table(
            rows,
            [
                ("name", "Name"),
                ("roles", "Roles"),
                ("created_at", "Added"),
                ("created_by", "By"),
                ("deactivated_at", "Deactivated"),
            ],
        )


@user.command("role")
@click.argument("name")
@click.option("--add", "add", type=click.Choice(ROLES), help="Give the user this role.")
@click.option("--remove", "remove", type=click.Choice(ROLES), help="Take this role away.")
@click.option("--reason", required=True, help="Why the user's roles change; kept in the audit log.")
@pass_ctx
def user_role(c: Context, name: str, add: str | None, remove: str | None, reason: str) -> None:
    """Give a user a role or take one away (secretary only)."""
    from signoff.services.people import change_role

    roles = change_role(c.db, c.who(), name, reason, add=add, remove=remove)
    output.message(f"{name} is now {', '.join(roles)}.")


@user.command("deactivate")
@click.argument("name")
@click.option("--reason", required=True, help="Why the user may no longer act, e.g. left the board.")
@pass_ctx
def user_deactivate(c: Context, name: str, reason: str) -> None:
    """Stop a user acting: every write they attempt is refused; their history stays (secretary only)."""
    from signoff.services.people import deactivate_user

    deactivate_user(c.db, c.who(), name, reason)
    output.message(f"Deactivated {name}: they can no longer act on this register.")


@user.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def user_show(c: Context, name: str, as_json: bool) -> None:
    """One user's roles and signing keys, with fingerprints as 'ssh-keygen -lf' prints them."""
    from signoff.services.views import user_detail

    detail = user_detail(c.db, name)
    if as_json:
        output.emit_json(detail)
        return
    output.message(
        f"{detail['name']}: {', '.join(detail['roles'])} (added {detail['created_at']} by {detail['created_by']})"
    )
    if not detail["keys"]:
        output.message(
            f"No signing key registered: the secretary registers one with 'signoff user key add {name} --public-key FILE'."
        )
        return
    output.table(
        detail["keys"],
        [
            ("fingerprint", "Fingerprint"),
            ("status", "Status"),
            ("registered_at", "Registered"),
            ("registered_by", "By"),
            ("revoked_at", "Revoked"),
            ("revoke_reason", "Why"),
        ],
        title=f"Signing keys of {name}",
        all_rows=True,
    )


@user.group("key")
def user_key() -> None:
    """Users' OpenSSH signing keys: register and revoke (secretary)."""


@user_key.command("add")
@click.argument("name")
@click.option(
    "--public-key",
    "public_key",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The user's public key file (the .pub made by 'ssh-keygen -t ed25519').",
)
@pass_ctx
def user_key_add(c: Context, name: str, public_key: Path) -> None:
    """Register a user's Ed25519 public key, so their decisions can be signed (secretary only)."""
    from signoff.services.keys import add_key, read_public_key

    fingerprint = add_key(c.db, c.who(), name, read_public_key(public_key))
    output.message(f"Registered key {fingerprint} for {name}; they read it into the minutes with 'ssh-keygen -lf'.")


@user_key.command("revoke")
@click.argument("name")
@click.argument("fingerprint")
@click.option("--reason", required=True, help="Why the key is revoked (lost, replaced, left the board).")
@pass_ctx
def user_key_revoke(c: Context, name: str, fingerprint: str, reason: str) -> None:
    """Revoke a user's key: it signs nothing from now on; earlier signatures still verify (secretary only)."""
    from signoff.services.keys import revoke_key

    revoke_key(c.db, c.who(), name, fingerprint, reason)
    output.message(f"Revoked {name}'s key {fingerprint}.")


@click.group()
def item() -> None:
    """Recommendations and notice items on the register."""


@item.command("add")
@click.argument("ref")
@click.option("--kind", required=True, metavar="WORKFLOW", help="ofsted-recommendation or improvement-notice.")
@click.option("--title", required=True, help="The recommendation's or notice item's text.")
@click.option("--due", type=DATE, help="When the item should be signed off (YYYY-MM-DD).")
@click.option("--owner", help="The officer responsible.")
@pass_ctx
def item_add(c: Context, ref: str, kind: str, title: str, due: dt.date | None, owner: str | None) -> None:
    """Register one item (secretary only)."""
    from signoff.services.register import add_item

    add_item(c.db, c.who(), ref, kind, title, due, owner)
    output.message(f"Registered {ref} ({kind}).")


@item.command("reschedule")
@click.argument("ref")
@click.option("--due", required=True, type=DATE, help="The new due date (YYYY-MM-DD).")
@click.option("--reason", required=True, help="Why the timescale moved; the board sees it.")
@pass_ctx
def item_reschedule(c: Context, ref: str, due: dt.date, reason: str) -> None:
    """Move an item's due date; the original and every change with its reason stay in the history."""
    from signoff.services.schedule import reschedule

    old = reschedule(c.db, c.who(), ref, due, reason)
    output.message(f"{ref}: due date moved from {old or 'none'} to {due.isoformat()}.")


@item.command("edit")
@click.argument("ref")
@click.option("--title", help="The corrected title.")
@click.option("--owner", help='The officer now responsible ("" for none).')
@click.option("--reason", required=True, help="Why the item changes; the old value is kept.")
@pass_ctx
def item_edit(c: Context, ref: str, title: str | None, owner: str | None, reason: str) -> None:
    """Correct an item's title or owner; the old value and the reason stay on the record (secretary only)."""
    from signoff.services.corrections import edit_item

    changes = edit_item(c.db, c.who(), ref, reason, title=title, owner=owner)
    for ch in changes:
        output.message(f"{ref}: {ch['field']} changed from {ch['from'] or 'none'!s} to {ch['to'] or 'none'!s}.")


@item.command("list")
@click.option("--state", help="Only items in this state.")
@click.option("--kind", help="Only items of this workflow.")
@click.option("--owner", help="Only items this person owns, or owns a matrix row of (names compared case-blind).")
@click.option("--rag", type=click.Choice(["red", "amber", "green"]), help="Only items with this RAG status.")
@click.option("--due-before", "due_before", type=DATE, help="Only items due before this date (YYYY-MM-DD).")
@click.option("--page", default=1, type=click.IntRange(min=1), help="Page of the table on a terminal.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("-o", "--output", "out", type=OUTPUT, help="Write an Excel workbook (.xlsx).")
@pass_ctx
def item_list(
    c: Context,
    state: str | None,
    kind: str | None,
    owner: str | None,
    rag: str | None,
    due_before: dt.date | None,
    page: int,
    as_json: bool,
    out: Path | None,
) -> None:
    """List items with their state and RAG status."""
    from signoff.services.views import item_stream

    with item_stream(c.db, state=state, kind=kind, owner=owner, rag=rag, due_before=due_before) as rows:
        _item_list_out(rows, page, as_json, out)


def _item_list_out(rows: Iterator[dict[str, Any]], page: int, as_json: bool, out: Path | None) -> None:
    if out is not None:
        from signoff.errors import BadInput
        from signoff.render import xlsx

        if out.suffix.lower() != ".xlsx":
            raise BadInput(
                f"{out} does not end in .xlsx: item list writes Excel workbooks; use --json for other tools."
            )
        keys = [k for k, _ in ITEM_COLUMNS] + [
            "original_due",
            "rag_reasons",
            "limbo",
            "challenges",
            "last_transition_at",
        ]
        written = xlsx.write(out, "items", keys, ([r.get(k) for k in keys] for r in rows))
        output.message(f"Wrote {written} item(s) to {out}.")
        return
    if as_json:
        output.emit_json_array(rows)
    else:
        output.table(rows, ITEM_COLUMNS, title="Items", page=page)


@item.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def item_show(c: Context, ref: str, as_json: bool) -> None:
    """One item in full: state, matrix coverage, evidence, challenges, submissions, approvals."""
    from signoff.render.item import render_item
    from signoff.services.views import item_detail

    detail = item_detail(c.db, ref)
    if as_json:
        output.emit_json(detail)
    else:
        render_item(detail)


@click.group()
def matrix() -> None:
    """The evidence matrix: what evidence is due for each item, and by when."""


@matrix.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@pass_ctx
def matrix_import(c: Context, file: Path) -> None:
    """Import a matrix CSV; the whole file is checked first and nothing is written if any row is bad.

    Columns: item_ref,item_kind,item_title,item_due,evidence_key,evidence_description,present_by
    (optional: item_owner, evidence_owner). Dates are YYYY-MM-DD; Excel's 'CSV UTF-8' is fine.
    """
    from signoff.render.progress import progress
    from signoff.services.matrix import import_matrix

    with progress(None, f"Importing {file.name}"):
        r = import_matrix(c.db, c.who(), file)
    output.message(
        f"Imported {file.name}: {r.items_created} new item(s), {r.items_existing} already registered; "
        f"{r.rows_created} new matrix row(s), {r.rows_unchanged} unchanged."
    )
    if r.rows_left_out:
        output.message(
            f"{r.rows_left_out} row(s) of the file were removed from the matrix since ('signoff matrix remove') "
            "and were left out; add one back with 'signoff matrix add'."
        )
    if r.items_differing:
        shown = ", ".join(r.items_differing[:5]) + (" …" if len(r.items_differing) > 5 else "")
        output.message(
            f"{len(r.items_differing)} registered item(s) have a different title or due date in the file and were "
            f"left as they are ({shown}); move a due date with 'signoff item reschedule'."
        )


@matrix.command("show")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def matrix_show(c: Context, ref: str, as_json: bool) -> None:
    """An item's matrix rows and whether each is covered by evidence yet."""
    from signoff.services.views import item_detail

    rows = item_detail(c.db, ref)["matrix"]
    if as_json:
        output.emit_json(rows)
    else:
        output.table(
            rows,
            [
                ("key", "Key"),
                ("description", "Evidence"),
                ("present_by", "Present by"),
                ("owner", "Owner"),
                ("covered", "Covered"),
            ],
            title=f"Evidence matrix for {ref}",
            all_rows=True,
        )


@matrix.command("add")
@click.argument("ref")
@click.argument("key")
@click.option("--description", required=True, help="The evidence required.")
@click.option("--present-by", "present_by", required=True, type=DATE, help="When it is due (YYYY-MM-DD).")
@click.option("--owner", help="Who provides it, if not the item's owner.")
@click.option("--reason", help="Why the requirement is added; kept in the audit log.")
@pass_ctx
def matrix_add(
    c: Context, ref: str, key: str, description: str, present_by: dt.date, owner: str | None, reason: str | None
) -> None:
    """Add an evidence requirement (a matrix row) to a registered item (secretary only)."""
    from signoff.services.corrections import add_row

    add_row(c.db, c.who(), ref, key, description, present_by, owner=owner, reason=reason)
    output.message(f"{ref}: added matrix row {key}, to be presented by {present_by.isoformat()}.")


@matrix.command("reschedule")
@click.argument("ref")
@click.argument("key")
@click.option("--present-by", "present_by", required=True, type=DATE, help="The new present-by date (YYYY-MM-DD).")
@click.option("--reason", required=True, help="Why the date moves; the old date is kept.")
@pass_ctx
def matrix_reschedule(c: Context, ref: str, key: str, present_by: dt.date, reason: str) -> None:
    """Move a matrix row's present-by date; the old date and the reason stay on the record (secretary only)."""
    from signoff.services.corrections import reschedule_row

    old = reschedule_row(c.db, c.who(), ref, key, present_by, reason)
    output.message(f"{ref} / {key}: present-by moved from {old} to {present_by.isoformat()}.")


@matrix.command("remove")
@click.argument("ref")
@click.argument("key")
@click.option("--reason", required=True, help="Why the requirement goes; kept in the audit log.")
@pass_ctx
def matrix_remove(c: Context, ref: str, key: str, reason: str) -> None:
    """Remove a matrix row that has no evidence (secretary only); one with evidence stays."""
    from signoff.services.corrections import remove_row

    remove_row(c.db, c.who(), ref, key, reason)
    output.message(f"{ref}: removed matrix row {key}.")
