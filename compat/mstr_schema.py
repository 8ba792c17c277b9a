"""mstrio-py's SchemaManagement against vestibule: the lock status, lock, a schema change by the
holder while locked, a second connection (another session, another user) whose attribute is
refused at commit and whose unlock is refused, reloads asynchronous (a task followed with
get_task) and synchronous, unlock, and then the second connection's attribute goes through.

Usage: mstr_schema.py BASE_URL USER PASSWORD PROJECT_ID TABLE_ID ATTRIBUTES_FOLDER_ID USER2 PASSWORD2
The table (LU_SUBCATEG with SUBCAT_ID, SUBCAT_DESC, CATEGORY_ID) is made before, with
`vestibule table add`; USER2 holds the schema privilege but not the administration one.
Exits non-zero with a message on the first check that fails.
"""

import sys
import time
import warnings
from datetime import datetime

from mstrio.connection import Connection
from mstrio.modeling.expression import Expression, FactExpression
from mstrio.modeling.expression.expression_nodes import ColumnReference
from mstrio.modeling.schema import ObjectSubType, SchemaObjectReference
from mstrio.modeling.schema.attribute import Attribute, AttributeForm
from mstrio.modeling.schema.helpers import AttributeDisplays, FormReference
from mstrio.modeling.schema.schema_management import (
    SchemaLockType,
    SchemaManagement,
    SchemaTaskStatus,
    SchemaUpdateType,
)


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def make_attribute(conn, name, column, table, folder):
    form = AttributeForm.local_create(
        conn, name="ID", category="ID", display_format=AttributeForm.DisplayFormat.NUMBER,
        expressions=[FactExpression(expression=Expression(tree=ColumnReference(column_name=column)), tables=[table])],
        lookup_table=table,
    )
    return Attribute.create(
        conn, name=name, sub_type=ObjectSubType.ATTRIBUTE, destination_folder=folder, forms=[form],
        key_form=FormReference(name="ID"),
        displays=AttributeDisplays(report_displays=[FormReference(name="ID")], browse_displays=[FormReference(name="ID")]),
        attribute_lookup_table=table,
    )


def wait_finished(schema, index):
    deadline = time.monotonic() + 20
    while True:
        task = schema.get_task(index)
        if task.status != SchemaTaskStatus.RUNNING or time.monotonic() > deadline:
            return task
        time.sleep(0.05)


def main():
    base, user, password, project, table_id, folder, user2, password2 = sys.argv[1:9]
    conn = Connection(base, user, password, project_id=project, login_mode=1)
    other = Connection(base, user2, password2, project_id=project, login_mode=1)
    table = SchemaObjectReference(sub_type=ObjectSubType.LOGICAL_TABLE, object_id=table_id, name="LU_SUBCATEG")

    schema = SchemaManagement(conn, project_id=project)
    status = schema.get_lock_status()
    check(status.lock_type == SchemaLockType.UNLOCKED and schema.lock_type == SchemaLockType.UNLOCKED,
          "unlocked at first")
    check(status.owner_name is None and status.date_created is None, "an unlocked status has no lock details")

    check(schema.lock(SchemaLockType.ABSOLUTE_INDIVIDUAL) is True, "lock(ABSOLUTE_INDIVIDUAL)")
    check(schema.lock_type == SchemaLockType.ABSOLUTE_INDIVIDUAL, "lock_type after locking")
    status = schema.get_lock_status()
    check(status.owner_name == "Administrator" and len(status.owner_id) == 32, f"the owner: {status.owner_name}")
    check(isinstance(status.date_created, datetime) and status.date_created.tzinfo is not None,
          f"date_created parsed as a datetime: {status.date_created!r}")
    check(abs((datetime.now(status.date_created.tzinfo) - status.date_created).total_seconds()) < 120,
          "date_created is now")
    check(status.machine_name == "127.0.0.1", f"machine_name: {status.machine_name}")
    check(schema.lock(SchemaLockType.ABSOLUTE_INDIVIDUAL) is True, "locking again is success")

    # The holder's own session changes the schema while it is locked.
    mine = make_attribute(conn, "Subcategory", "SUBCAT_ID", table, folder)
    check(Attribute(conn, id=mine.id).name == "Subcategory", "the holder created an attribute while locked")

    # Another connection: sees the lock, cannot commit, cannot unlock.
    theirs = SchemaManagement(other, project_id=project)
    check(theirs.lock_type == SchemaLockType.ABSOLUTE_INDIVIDUAL, "the other session sees the lock")
    check(theirs.get_lock_status().owner_name == "Administrator", "and whose it is")
    try:
        make_attribute(other, "Category", "CATEGORY_ID", table, folder)
        refused = None
    except Exception as e:  # mstrio raises on the refused commit
        refused = str(e)
    check(refused is not None and "locked" in refused, f"the other session's commit is refused: {refused}")
    listed = other.get(f"{other.base_url}/api/model/attributes", headers={"X-MSTR-ProjectID": project}).json()
    names = [a["information"]["name"] for a in listed["attributes"]]
    check(names == ["Subcategory"], f"nothing of it was committed: {names}")
    check(theirs.unlock() is False, "the other session's unlock is refused")
    check(schema.get_lock_status().lock_type == SchemaLockType.ABSOLUTE_INDIVIDUAL, "the lock stays")

    # Reloads: asynchronous, with the task followed; then synchronous.
    task = schema.reload(update_types=[SchemaUpdateType.TABLE_KEY, SchemaUpdateType.LOGICAL_SIZE], respond_async=True)
    check(task is not None and task.status == SchemaTaskStatus.RUNNING, f"an asynchronous reload's task: {task!r}")
    check(isinstance(task.start_time, datetime) and task.end_time is None, "the running task's times")
    check(len(schema.tasks) == 1 and schema.tasks[0].id == task.id, "the task is kept in tasks")
    done = wait_finished(schema, 0)
    check(done.status == SchemaTaskStatus.COMPLETED, f"the task completed: {done!r}")
    check(isinstance(done.end_time, datetime) and done.end_time >= done.start_time, "the finished task's end time")
    check(done.errors is None, "and no errors")
    check(len(schema.tasks) == 1 and schema.tasks[0].status == SchemaTaskStatus.COMPLETED, "get_task updated tasks")
    check(schema.reload(update_types="clear_element_cache", respond_async=False) is None, "a synchronous reload")
    every = schema.reload(update_types=list(SchemaUpdateType), respond_async=True)
    check(every is not None and len(schema.tasks) == 2, "a reload with every update type")
    check(wait_finished(schema, 1).status == SchemaTaskStatus.COMPLETED, "completed too")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check(schema.get_task(5) is None and caught, "get_task of an index with no task warns")

    # Unlocked: the other session's attribute goes through now.
    check(schema.unlock() is True and schema.lock_type == SchemaLockType.UNLOCKED, "unlock()")
    check(theirs.get_lock_status().lock_type == SchemaLockType.UNLOCKED, "the other session sees it unlocked")
    cat = make_attribute(other, "Category", "CATEGORY_ID", table, folder)
    check(Attribute(other, id=cat.id).name == "Category", "the other session's attribute after the unlock")
    check(schema.unlock() is True, "unlocking an unlocked schema is success")

    other.close()
    conn.close()
    print("all checks passed", flush=True)


if __name__ == "__main__":
    main()
