"""mstrio-py's table workflows against vestibule: LogicalTable.create of a warehouse table and of
a free-form SQL table (its column's precision sent as the string mstrio's DataType keeps),
list_physical_tables (by the tables endpoint and by the metadata search), PhysicalTable(conn,
id=…), a logical table made over an existing PhysicalTable, create_alias,
list_dependent_logical_tables, the structure refresh, deleting one logical table (the physical
table stays) and PhysicalTable.delete (its logical tables go, and it with them).

Usage: mstr_tables.py BASE_URL USER PASSWORD PROJECT_ID
Exits non-zero with a message on the first check that fails.
"""

import sys

from mstrio.connection import Connection
from mstrio.modeling.schema import ObjectSubType, SchemaObjectReference
from mstrio.modeling.schema.helpers import DataType, PhysicalTableType, TableColumn
from mstrio.modeling.schema.table import (
    LogicalTable,
    PhysicalTable,
    list_logical_tables,
    list_physical_tables,
)


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


def column(name, type_, precision, scale):
    return TableColumn(data_type=DataType(type_, precision, scale), column_name=name)


def main():
    base, user, password, project = sys.argv[1:5]
    conn = Connection(base, user, password, project_id=project, login_mode=1)
    # vestibule has no data sources; the reference is sent, as mstrio requires one, and not read.
    source = SchemaObjectReference(sub_type=ObjectSubType.DB_ROLE, object_id="8FB036244C375FC9CE3FCABF45ECC5A8")

    city = LogicalTable.create(
        conn,
        primary_data_source=source,
        table_name="City Sales",
        physical_table_name="CITY_CTR_SLS",
        physical_table_namespace="dbo",
        columns=[
            column("CUST_CITY_ID", DataType.Type.INTEGER, "4", "0"),
            column("TOT_COST", DataType.Type.REAL, "8", "0"),
        ],
    )
    check(city.name == "City Sales", "LogicalTable.create: a warehouse table")
    pid = city.physical_table.id
    check(pid and pid != city.id, "its physical table has an id of its own")
    check(city.physical_table.table_type == PhysicalTableType.NORMAL, "a normal physical table")

    listed = list_physical_tables(conn)
    check([p.id for p in listed] == [pid], "list_physical_tables: the one physical table")
    found = list_physical_tables(conn, include_unassigned_tables=True, to_dictionary=True)
    check([p["id"] for p in found] == [pid], "list_physical_tables(include_unassigned_tables=True): by search")

    pt = PhysicalTable(conn, id=pid)
    check(pt.name == "CITY_CTR_SLS", "PhysicalTable(conn, id=…): its name")
    check(pt.table_name == "CITY_CTR_SLS" and pt.namespace == "dbo", "its warehouse table and namespace")
    check(pt.table_type == PhysicalTableType.NORMAL, "its type")
    check([c.column_name for c in pt.columns] == ["CUST_CITY_ID", "TOT_COST"], "its columns")
    check(pt.columns[1].data_type.precision == 8, "a column's precision, a number again")

    # A logical table over the existing physical table, as mstrio sends it (no id: its name).
    again = LogicalTable.create(conn, primary_data_source=source, table_name="City Sales 2", physical_table=pt)
    check(again.physical_table.id == pid, "LogicalTable.create(physical_table=PhysicalTable(…)): the same one")

    # A free-form SQL table, its precision the string mstrio's DataType keeps.
    sql = "select CUST_CITY_ID, TOT_COST from dbo.CITY_CTR_SLS"
    custom = LogicalTable.create(
        conn,
        primary_data_source=source,
        table_name="Custom SQL",
        physical_table_type=PhysicalTableType.SQL,
        sql_statement=sql,
        columns=[column("CUST_CITY_ID", DataType.Type.INTEGER, "2", "0")],
        enclose_sql_in_parentheses=False,
    )
    fresh = LogicalTable(conn, id=custom.id)
    check(fresh.physical_table.table_type == PhysicalTableType.SQL, "LogicalTable.create: a SQL table")
    check(fresh.physical_table.columns[0].data_type.precision == 2, "its precision '2' kept as 2")
    check(fresh.physical_table.id != pid, "a physical table of its own")
    sql_pt = PhysicalTable(conn, id=fresh.physical_table.id)
    check(sql_pt.table_type == PhysicalTableType.SQL, "PhysicalTable(conn, id=…) of the SQL table")
    check(getattr(sql_pt, "sql_statement", None) == sql, "its SQL statement answered back")
    fresh.update_physical_table_structure()
    check(LogicalTable(conn, id=custom.id).physical_table.columns[0].column_name == "CUST_CITY_ID",
          "update_physical_table_structure: a SQL table is left as it is")
    raises(lambda: city.update_physical_table_structure(),
           "update_physical_table_structure of a warehouse table: no warehouse here")

    alias = LogicalTable.create_alias(conn, id=pid)
    check(alias.physical_table.id == pid, "create_alias: over the same physical table")
    check(alias.name == "CITY_CTR_SLS", "the alias takes the physical table's name")
    alias2 = LogicalTable.create_alias(conn, id=pid)
    check(alias2.name == "CITY_CTR_SLS (1)", "the next alias the next free name")
    check([c.id for c in LogicalTable(conn, id=alias.id).physical_table.columns] == [c.id for c in pt.columns],
          "an alias shares the physical table's columns")
    check(sorted(p.id for p in list_physical_tables(conn)) == sorted([pid, sql_pt.id]),
          "list_physical_tables: each physical table once")

    dependents = PhysicalTable(conn, id=pid).list_dependent_logical_tables()
    check(sorted(t.id for t in dependents) == sorted([city.id, again.id, alias.id, alias2.id]),
          "list_dependent_logical_tables: the four over it")

    alias2.delete(force=True)
    check(PhysicalTable(conn, id=pid).name == "CITY_CTR_SLS", "deleting one logical table leaves the physical table")
    check(len(PhysicalTable(conn, id=pid).list_dependent_logical_tables()) == 3, "three left over it")

    PhysicalTable(conn, id=pid).delete(force=True)
    check(all(t.id != city.id for t in list_logical_tables(conn)), "PhysicalTable.delete: its logical tables went")
    raises(lambda: PhysicalTable(conn, id=pid), "and the physical table with them")
    check([p.id for p in list_physical_tables(conn)] == [sql_pt.id], "only the SQL table's is left")
    print("all checks passed", flush=True)


if __name__ == "__main__":
    main()
