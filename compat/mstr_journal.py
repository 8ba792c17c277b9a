"""mstrio-py's change journal against vestibule: comments given through mstrio's `journal_comment`
arguments (Attribute.create, alter through the modeling API and through PUT /api/objects,
delete, Folder.delete) kept in the entries; `list_change_journal_entries` with its filters and
`limit`; `Entity.change_journal`, `fetch_all_change_journal_entries` and `list_properties()`;
`purge_change_journal_entries` and `Project.purge_change_journals`.

Usage: mstr_journal.py BASE_URL USER PASSWORD PROJECT_ID TABLE_ID ATTRIBUTES_FOLDER_ID
The table (LU_SUBCATEG with SUBCAT_ID, SUBCAT_DESC) is made before, with `vestibule table add`.
Exits non-zero with a message on the first check that fails.
"""

import sys
from datetime import datetime, timedelta, timezone

from mstrio.connection import Connection
from mstrio.modeling.expression import Expression, FactExpression
from mstrio.modeling.expression.expression_nodes import ColumnReference
from mstrio.modeling.schema import ObjectSubType, SchemaObjectReference
from mstrio.modeling.schema.attribute import Attribute, AttributeForm
from mstrio.modeling.schema.helpers import AttributeDisplays, FormReference
from mstrio.object_management.folder import Folder
from mstrio.server import (
    ChangeJournalEntry,
    ChangeType,
    Project,
    TransactionType,
    list_change_journal_entries,
    purge_change_journal_entries,
)


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def about(entry, object_id):
    """(transaction type, change type, user comment) of `object_id` in `entry`."""
    o = next(o for o in entry.changed_objects if o["id"] == object_id)
    return entry.transaction["type"], o["changeType"], o.get("userComments")


def main():
    base, user, password, project, table_id, folder = sys.argv[1:7]
    conn = Connection(base, user, password, project_id=project, login_mode=1)
    table = SchemaObjectReference(sub_type=ObjectSubType.LOGICAL_TABLE, object_id=table_id, name="LU_SUBCATEG")
    started = datetime.now(timezone.utc) - timedelta(minutes=1)

    def make(name, comment=None):
        form = AttributeForm.local_create(
            conn, name="ID", category="ID", display_format=AttributeForm.DisplayFormat.NUMBER,
            expressions=[FactExpression(expression=Expression(tree=ColumnReference(column_name="SUBCAT_ID")), tables=[table])],
            lookup_table=table,
        )
        return Attribute.create(
            conn, name=name, sub_type=ObjectSubType.ATTRIBUTE, destination_folder=folder, forms=[form],
            key_form=FormReference(name="ID"),
            displays=AttributeDisplays(report_displays=[FormReference(name="ID")], browse_displays=[FormReference(name="ID")]),
            attribute_lookup_table=table, journal_comment=comment,
        )

    # Comments through every path mstrio-py gives them.
    attr = make("Journaled", comment="made with mstrio")
    attr.alter(description="described", journal_comment="described with mstrio")
    attr.alter(comments="a long description", journal_comment="commented with mstrio")
    attr.alter(name="Journaled (renamed)", journal_comment="renamed with mstrio")

    entries = list_change_journal_entries(conn, affected_objects=attr.id)
    check(all(isinstance(e, ChangeJournalEntry) for e in entries), "entries are ChangeJournalEntry objects")
    seen = [about(e, attr.id) for e in entries]
    check(seen[-1] == ("save_objects", "create_object", "made with mstrio"), f"the create's comment: {seen}")
    check(("save_objects", "change_object", "described with mstrio") in seen, f"a change through a changeset: {seen}")
    check(("save_object", "change_object", "commented with mstrio") in seen, f"a change through /api/objects: {seen}")
    check(seen[0][2] == "renamed with mstrio", f"newest first: {seen}")
    first = entries[0]
    check(first.project_id == project and first.user["name"] == user, "project and user")
    check(first.machine and first.session_id and first.timestamp and first.timestamp_iso, "machine, session, times")
    check(isinstance(first.transaction["id"], int) and first.changed_links == [], "transaction number, no links")

    # Entity.change_journal, fetch_all_change_journal_entries and list_properties().
    fresh = Attribute(conn, id=attr.id)
    journal = fresh.change_journal
    check([about(e, attr.id) for e in journal] == seen, "Entity.change_journal")
    fresh.alter(hidden=True, journal_comment="hidden with mstrio")
    fresh.fetch_all_change_journal_entries()
    check(len(fresh.change_journal) == len(seen) + 1, "fetch_all_change_journal_entries sees the new entry")
    props = Attribute(conn, id=attr.id).list_properties()
    check(len(props["change_journal"]) == len(seen) + 1, "list_properties() has the change journal")

    # A delete with its comment; a folder made and deleted.
    other = make("Deleted soon")
    other.delete(force=True, journal_comment="deleted with mstrio")
    gone = list_change_journal_entries(conn, affected_objects=[other.id])
    check([about(e, other.id) for e in gone]
          == [("delete_object", "delete_object", "deleted with mstrio"), ("save_objects", "create_object", None)],
          f"a delete's comment: {[about(e, other.id) for e in gone]}")
    box = Folder.create(conn, name="Journal folder", parent=folder)
    Folder(conn, id=box.id).delete(force=True, journal_comment="folder gone")
    boxes = list_change_journal_entries(conn, affected_objects=box.id)
    check([about(e, box.id) for e in boxes]
          == [("delete_object", "delete_object", "folder gone"), ("save_object", "create_object", None)],
          "a folder made and deleted")

    # Filters as mstrio-py sends them.
    user_id = first.user["id"]
    everything = list_change_journal_entries(conn)
    check(len(everything) >= len(seen) + 5, f"the whole journal: {len(everything)}")
    mine = list_change_journal_entries(conn, users=user_id, affected_projects=project,
                                       begin_time=started, end_time=datetime.now(timezone.utc) + timedelta(minutes=1))
    check(len(mine) == len(everything), "by user, project and time")
    check(list_change_journal_entries(conn, begin_time="01/01/2999 12:00:00 AM") == [], "a time to come: none")
    creates = list_change_journal_entries(conn, change_types=ChangeType.CREATE_OBJECT)
    check(len(creates) >= 3 and all(any(o["changeType"] == "create_object" for o in e.changed_objects) for e in creates),
          "by change type")
    deletes = list_change_journal_entries(conn, transaction_types=[TransactionType.DELETE_OBJECT])
    check(len(deletes) == 2, f"by transaction type: {len(deletes)}")
    check(len(list_change_journal_entries(conn, transaction_types=TransactionType.MERGE_USER)) == 0,
          "a transaction type vestibule never writes")
    check(len(list_change_journal_entries(conn, session_ids=first.session_id)) == len(everything), "by session")
    check(len(list_change_journal_entries(conn, machines=first.machine)) == len(everything), "by machine")
    two = list_change_journal_entries(conn, limit=2)
    check([e.transaction["id"] for e in two] == [e.transaction["id"] for e in everything[:2]], "limit")
    as_dicts = list_change_journal_entries(conn, affected_objects=attr.id, to_dictionary=True)
    check(as_dicts[0]["changed_objects"][0]["id"] == attr.id, "to_dictionary")
    low = everything[-1].transaction["id"]
    check(len(list_change_journal_entries(conn, begin_transaction_id=low, end_transaction_id=low)) == 1,
          "by transaction number")

    # Purges: before a time long past (only the purge is recorded), then all of the project.
    purge_change_journal_entries(conn, projects=[project], comment="nothing that old",
                                 timestamp=datetime(2001, 1, 1))
    after = list_change_journal_entries(conn, affected_projects=project)
    check(len(after) == len(everything) + 1 and after[0].transaction["type"] == "purge_change_journal",
          "a purge of nothing is recorded")
    Project(connection=conn, id=project).purge_change_journals(comment="all of it")
    left = list_change_journal_entries(conn, affected_projects=project)
    check(len(left) == 1 and left[0].changed_objects[0]["userComments"] == "all of it",
          f"Project.purge_change_journals: {len(left)} left")
    purge_change_journal_entries(conn, comment="every loaded project")
    left = list_change_journal_entries(conn)
    check([about(e, project)[2] for e in left] == ["every loaded project"], "purge of every loaded project")
    conn.close()
    print("all checks passed", flush=True)


if __name__ == "__main__":
    main()
