"""A whole mstrio-py modeling script against vestibule, as its users write one: lock the schema,
create tables (a warehouse table, an alias of it, a free-form SQL table), attributes with forms on
them, an ordinary and a joint-child relationship, reload the schema and follow its task, unlock;
a second session is blocked by the lock while it is held and works once it is released; the
change journal shows what was done, with the journal comments given.

Usage: mstr_modeling_script.py BASE_URL USER PASSWORD PROJECT_ID ATTRIBUTES_FOLDER_ID
Exits non-zero with a message on the first check that fails.
"""

import sys
import time

from mstrio.connection import Connection
from mstrio.modeling.expression import Expression, FactExpression
from mstrio.modeling.expression.expression_nodes import ColumnReference
from mstrio.modeling.schema import (
    ObjectSubType,
    SchemaLockType,
    SchemaManagement,
    SchemaObjectReference,
    SchemaUpdateType,
)
from mstrio.modeling.schema.attribute import Attribute, AttributeForm, RelationshipType
from mstrio.modeling.schema.helpers import (
    AttributeDisplays,
    DataType,
    FormReference,
    PhysicalTableType,
    TableColumn,
)
from mstrio.modeling.schema.schema_management import SchemaTaskStatus
from mstrio.modeling.schema.table import LogicalTable
from mstrio.server import list_change_journal_entries


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def raises(fn, what):
    try:
        fn()
    except Exception as e:  # mstrio raises its own errors and requests' HTTPError
        print(f"ok: {what} ({type(e).__name__})", flush=True)
        return
    print(f"FAILED: {what}: no error", flush=True)
    sys.exit(1)


def column(name, type_, precision, scale="0"):
    return TableColumn(data_type=DataType(type_, precision, scale), column_name=name)


def main():
    base, user, password, project, folder = sys.argv[1:6]
    a = Connection(base, user, password, project_id=project, login_mode=1)
    b = Connection(base, user, password, project_id=project, login_mode=1)
    # vestibule has no data sources; mstrio requires the reference, vestibule does not read it.
    source = SchemaObjectReference(sub_type=ObjectSubType.DB_ROLE, object_id="8FB036244C375FC9CE3FCABF45ECC5A8")

    schema = SchemaManagement(a, project_id=project)
    check(schema.lock_type == SchemaLockType.UNLOCKED, "the schema starts unlocked")
    check(schema.lock(SchemaLockType.ABSOLUTE_INDIVIDUAL), "lock(absolute_individual)")
    status = schema.get_lock_status()
    check(status.lock_type == SchemaLockType.ABSOLUTE_INDIVIDUAL, "the lock status names its type")
    check(status.owner_name and status.date_created, "and its owner and time")
    check(SchemaManagement(b, project_id=project).lock_type == SchemaLockType.ABSOLUTE_INDIVIDUAL,
          "another session sees the lock")

    def table(conn, name, columns, comment=None):
        return LogicalTable.create(conn, primary_data_source=source, table_name=name, physical_table_name=name,
                                   columns=columns, journal_comment=comment)

    integer, text = DataType.Type.INTEGER, DataType.Type.N_VAR_CHAR
    lu_cat = table(a, "LU_CATEGORY", [column("CATEGORY_ID", integer, "4"), column("CATEGORY_DESC", text, "50")],
                   comment="category lookup")
    lu_sub = table(a, "LU_SUBCATEG", [column("SUBCAT_ID", integer, "4"), column("CATEGORY_ID", integer, "4")])
    rel = table(a, "REL_CAT_SUB_REGION", [column("CATEGORY_ID", integer, "4"), column("SUBCAT_ID", integer, "4"),
                                          column("REGION_ID", integer, "4")])
    check(lu_cat.physical_table.table_type == PhysicalTableType.NORMAL, "a warehouse table, by the lock's holder")
    alias = LogicalTable.create_alias(a, id=lu_sub.physical_table.id)
    check(alias.physical_table.id == lu_sub.physical_table.id, "an alias over the same physical table")
    sql = LogicalTable.create(a, primary_data_source=source, table_name="TOP_REGIONS",
                              physical_table_type=PhysicalTableType.SQL,
                              sql_statement="select REGION_ID from REL_CAT_SUB_REGION group by REGION_ID",
                              columns=[column("REGION_ID", integer, "2")])
    check(sql.physical_table.table_type == PhysicalTableType.SQL, "a free-form SQL table")

    def ref(t):
        return SchemaObjectReference(sub_type=ObjectSubType.LOGICAL_TABLE, object_id=t.id, name=t.name)

    def attribute(conn, name, col, tables, comment=None):
        form = AttributeForm.local_create(
            conn, name="ID", category="ID", display_format=AttributeForm.DisplayFormat.NUMBER,
            expressions=[FactExpression(expression=Expression(tree=ColumnReference(column_name=col)),
                                        tables=[ref(t) for t in tables])],
            lookup_table=ref(tables[0]),
        )
        return Attribute.create(
            conn, name=name, sub_type=ObjectSubType.ATTRIBUTE, destination_folder=folder, forms=[form],
            key_form=FormReference(name="ID"),
            displays=AttributeDisplays(report_displays=[FormReference(name="ID")],
                                       browse_displays=[FormReference(name="ID")]),
            attribute_lookup_table=ref(tables[0]), journal_comment=comment,
        )

    cat = attribute(a, "Category", "CATEGORY_ID", [lu_cat, lu_sub, rel], comment="the top of the hierarchy")
    sub = attribute(a, "Subcategory", "SUBCAT_ID", [lu_sub, rel])
    region = attribute(a, "Region", "REGION_ID", [rel, sql])
    check(len({cat.id, sub.id, region.id}) == 3, "three attributes, by the lock's holder")

    # The second session is held off while the lock is held.
    raises(lambda: attribute(b, "Blocked", "CATEGORY_ID", [lu_cat]), "another session cannot change the schema")
    raises(lambda: table(b, "LU_BLOCKED", [column("X", integer, "4")]), "nor make a table")

    def aref(x):
        return SchemaObjectReference(sub_type=ObjectSubType.ATTRIBUTE, object_id=x.id, name=x.name)

    Attribute(a, id=sub.id).add_parent(aref(cat), relationship_type=RelationshipType.ONE_TO_MANY, table=ref(lu_sub))
    Attribute(a, id=region.id).add_child(joint_child=[aref(cat), aref(sub)],
                                         relationship_type=RelationshipType.MANY_TO_MANY, table=ref(rel))
    rels = Attribute(a, id=region.id).relationships
    joint = [r for r in rels if getattr(r, "joint_child", None)]
    check(len(joint) == 1 and sorted(c.object_id for c in joint[0].joint_child) == sorted([cat.id, sub.id]),
          "Region's joint child is Category and Subcategory")
    check(joint[0].relationship_type == RelationshipType.MANY_TO_MANY, "many to many")
    cat_rels = Attribute(a, id=cat.id).relationships
    check(any(getattr(r, "joint_child", None) for r in cat_rels), "Category sees the joint relationship too")
    check(any(r.child and r.child.object_id == sub.id for r in cat_rels), "and its ordinary child")

    task = schema.reload(update_types=[SchemaUpdateType.TABLE_KEY, SchemaUpdateType.ENTRY_LEVEL])
    check(task is not None and task.id, "reload(async) answers a task")
    deadline = time.time() + 20
    while task.status == SchemaTaskStatus.RUNNING and time.time() < deadline:
        time.sleep(0.2)
        task = schema.get_task(-1)
    check(task.status == SchemaTaskStatus.COMPLETED, "the reload task completes")
    check(task.end_time is not None, "with its end time")
    schema.reload(respond_async=False)
    check(True, "reload(respond_async=False)")

    check(schema.unlock(), "unlock()")
    check(schema.get_lock_status().lock_type == SchemaLockType.UNLOCKED, "unlocked")
    late = attribute(b, "Late", "CATEGORY_ID", [lu_cat])
    check(late.id, "the other session changes the schema once the lock is gone")

    Attribute(a, id=region.id).remove_child(joint_child=[aref(cat), aref(sub)])
    check(not any(getattr(r, "joint_child", None) for r in Attribute(a, id=region.id).relationships),
          "remove_child(joint_child=…) removes it")

    entries = list_change_journal_entries(a, affected_projects=[project])
    text = repr([e.to_dict() for e in entries])
    for made in (lu_cat, lu_sub, rel, alias, sql, cat, sub, region, late):
        check(made.id in text.upper() or made.id in text, f"the journal has {made.name}")
    check("category lookup" in text and "the top of the hierarchy" in text, "with the journal comments given")
    mine = list_change_journal_entries(a, affected_objects=[cat.id])
    check(mine and all(cat.id in repr(e.to_dict()) for e in mine), "the journal of one object")
    a.close()
    b.close()
    print("all checks passed", flush=True)


if __name__ == "__main__":
    main()
