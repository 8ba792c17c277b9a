"""mstrio-py's day-to-day object workflows against vestibule: folders by path (the system folders'
well-known ids, then the folders API), an attribute made in a folder given by path, searching
(`list_attributes`, `Attribute(name=…)`), moving by path, comments, copies, dependents and
dependencies, making and deleting a folder.

Usage: mstr_objects.py BASE_URL USER PASSWORD PROJECT_ID PROJECT_NAME TABLE_ID
The table (LU_SUBCATEG with SUBCAT_ID, SUBCAT_DESC) is made before, with `vestibule table add`.
Exits non-zero with a message on the first check that fails.
"""

import sys

from mstrio.connection import Connection
from mstrio.modeling.expression import Expression, FactExpression
from mstrio.modeling.expression.expression_nodes import ColumnReference
from mstrio.modeling.schema import ObjectSubType, SchemaObjectReference
from mstrio.modeling.schema.attribute import Attribute, AttributeForm, list_attributes
from mstrio.modeling.schema.helpers import AttributeDisplays, FormReference
from mstrio.modeling.schema.table import LogicalTable
from mstrio.object_management.folder import Folder, get_folder_id_from_path

ROOT = "D43364C684E34A5F9B2F9AD7108F7828"
PUBLIC_OBJECTS = "98FE182C2A10427EACE0CD30B6768258"


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def main():
    base, user, password, project, project_name, table_id = sys.argv[1:7]
    conn = Connection(base, user, password, project_id=project, login_mode=1)
    table = SchemaObjectReference(sub_type=ObjectSubType.LOGICAL_TABLE, object_id=table_id, name="LU_SUBCATEG")

    # Folder paths resolve from the root's well-known id, through the folders API.
    attributes_path = f"/{project_name}/Schema Objects/Attributes"
    attributes_folder = get_folder_id_from_path(conn, attributes_path)
    check(len(attributes_folder) == 32, f"{attributes_path} is {attributes_folder}")
    check(get_folder_id_from_path(conn, f"/{project_name}/Public Objects") == PUBLIC_OBJECTS,
          "Public Objects has MicroStrategy's well-known id")
    root = Folder(conn, id=ROOT)
    check(root.name == project_name, "the root folder is named after the project")
    check({f.name for f in root.get_subfolders()} >= {"Public Objects", "Schema Objects"}, "the root's folders")

    def column(name):
        return FactExpression(expression=Expression(tree=ColumnReference(column_name=name)), tables=[table])

    def make(name, folder):
        forms = [
            AttributeForm.local_create(conn, name="ID", category="ID", display_format=AttributeForm.DisplayFormat.NUMBER,
                                       expressions=[column("SUBCAT_ID")], lookup_table=table),
            AttributeForm.local_create(conn, name="DESC", category="DESC", display_format=AttributeForm.DisplayFormat.TEXT,
                                       expressions=[column("SUBCAT_DESC")], lookup_table=table),
        ]
        return Attribute.create(
            conn, name=name, sub_type=ObjectSubType.ATTRIBUTE, destination_folder=folder, forms=forms,
            key_form=FormReference(name="ID"),
            displays=AttributeDisplays(report_displays=[FormReference(name="DESC")],
                                       browse_displays=[FormReference(name="DESC")]),
            attribute_lookup_table=table,
        )

    attr = make("Subcategory", attributes_path)
    check(attr.destination_folder_id == attributes_folder or
          Attribute(conn, id=attr.id).ancestors[-1]["id"] == attributes_folder,
          "created in the folder given by path")
    other = make("Category", attributes_folder)

    # Search: list, by name (contains and exactly), one by name.
    names = sorted(a.name for a in list_attributes(conn))
    check(names == ["Category", "Subcategory"], f"list_attributes: {names}")
    check([a.name for a in list_attributes(conn, name="subcat")] == ["Subcategory"], "list_attributes(name=) contains")
    found = Attribute(conn, name="Subcategory")
    check(found.id == attr.id, "Attribute(name=…) finds the one attribute")
    listed = list_attributes(conn, name="Subcategory", to_dictionary=True)
    check(len(listed) == 1 and listed[0]["type"] == 12, "search results are object infos")
    in_folder = list_attributes(conn, folder_path=attributes_path)
    check(len(in_folder) == 2, "list_attributes(folder_path=…)")

    # Comments (the long description) and a folder of one's own.
    attr.alter(comments="Groups products by subcategory")
    check(Attribute(conn, id=attr.id).comments in ("Groups products by subcategory", ["Groups products by subcategory"]),
          "alter(comments=…) is kept")
    mine = Folder.create(conn, name="Mine", parent_path=f"/{project_name}/Public Objects", description="mine")
    check(get_folder_id_from_path(conn, f"/{project_name}/Public Objects/Mine") == mine.id, "made a folder, found by path")
    attr.move(folder_path=f"/{project_name}/Public Objects/Mine")
    moved = Attribute(conn, id=attr.id)
    check([a["name"] for a in moved.ancestors][-2:] == ["Public Objects", "Mine"], "moved by path")
    check([o.id for o in mine.get_contents()] == [attr.id], "the folder holds it")
    check(list_attributes(conn, folder_path=attributes_path)[0].id == other.id, "gone from the old folder")

    # Copies: the default name, and a name and folder given.
    copy = attr.create_copy()
    check(copy.id != attr.id and copy.name == "Subcategory (1)", f"create_copy() named {copy.name}")
    again = attr.create_copy()
    check(again.name == "Subcategory (2)", f"the next copy is {again.name}")
    named = attr.create_copy(name="Subcategory copy", folder_id=attributes_folder)
    check(Attribute(conn, id=named.id).ancestors[-1]["id"] == attributes_folder, "a copy into a given folder")
    check(len(Attribute(conn, id=named.id).forms) == 2, "the copy has the forms")

    # Dependents and dependencies, from the model's references.
    lt = LogicalTable(conn, id=table_id)
    dependents = sorted(d["name"] for d in lt.list_dependents(to_dictionary=True))
    check(dependents == ["Category", "Subcategory", "Subcategory (1)", "Subcategory (2)", "Subcategory copy"],
          f"the table's dependents: {dependents}")
    deps = attr.list_dependencies(to_dictionary=True)
    check([d["id"] for d in deps] == [table_id], "the attribute's dependencies: its table")
    check(attr.list_dependents(to_dictionary=True) == [], "nothing uses the attribute")

    # A folder that holds something is not deleted; an empty one is.
    for a in (copy, again, named):
        a.delete(force=True)
    attr.move(folder=attributes_folder)
    check(mine.get_contents() == [], "the folder is empty again")
    mine.delete(force=True)
    gone = conn.get(f"{conn.base_url}/api/folders/{mine.id}", headers={"X-MSTR-ProjectID": project})
    check(gone.status_code == 404 and gone.json()["code"] == "ERR004", "the folder is gone")
    conn.close()
    print("all checks passed", flush=True)


if __name__ == "__main__":
    main()
