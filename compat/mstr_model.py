"""mstrio-py's modeling classes against vestibule: create an attribute with an ID and a DESC
form on a table, fetch it with tree and tokens, alter it (rename, add a form, change the key
form), list attributes, delete it.

Usage: mstr_model.py BASE_URL USER PASSWORD PROJECT_ID TABLE_ID ATTRIBUTES_FOLDER_ID
The table (LU_SUBCATEG with SUBCAT_ID, SUBCAT_DESC, CATEGORY_ID) is made before, with
`vestibule table add`. Exits non-zero with a message on the first check that fails.
"""

import sys

from mstrio.connection import Connection
from mstrio.modeling.expression import Expression, FactExpression, Token
from mstrio.modeling.expression.expression_nodes import ColumnReference
from mstrio.modeling.schema import ObjectSubType, SchemaObjectReference
from mstrio.modeling.schema.attribute import Attribute, AttributeForm
from mstrio.modeling.schema.helpers import (
    AttributeDisplays,
    AttributeSort,
    AttributeSorts,
    FormReference,
)

ID_CATEGORY = "45C11FA478E745FEA08D781CEA190FE5"
DESC_CATEGORY = "CCFBE2A5EADB4F50941FB879CCF1721C"


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def main():
    base, user, password, project, table_id, folder = sys.argv[1:7]
    conn = Connection(base, user, password, project_id=project, login_mode=1)
    table = SchemaObjectReference(
        sub_type=ObjectSubType.LOGICAL_TABLE, object_id=table_id, name="LU_SUBCATEG"
    )

    def column(name):
        return FactExpression(expression=Expression(tree=ColumnReference(column_name=name)), tables=[table])

    id_form = AttributeForm.local_create(
        conn, name="ID", category="ID", display_format=AttributeForm.DisplayFormat.NUMBER,
        expressions=[column("SUBCAT_ID")], lookup_table=table,
    )
    desc_form = AttributeForm.local_create(
        conn, name="DESC", category="DESC", display_format=AttributeForm.DisplayFormat.TEXT,
        expressions=[FactExpression(expression=Expression(tokens=[Token(value="SUBCAT_DESC")]), tables=[table])],
        lookup_table=table,
    )
    attr = Attribute.create(
        conn,
        name="Subcategory",
        sub_type=ObjectSubType.ATTRIBUTE,
        destination_folder=folder,
        forms=[id_form, desc_form],
        key_form=FormReference(name="ID"),
        displays=AttributeDisplays(
            report_displays=[FormReference(name="DESC")], browse_displays=[FormReference(name="DESC")]
        ),
        sorts=AttributeSorts(report_sorts=[AttributeSort(form=FormReference(name="DESC"), ascending=True)]),
        attribute_lookup_table=table,
    )
    check(len(attr.id) == 32, f"created attribute {attr.id}")

    # Fetch it with tree, then with tokens.
    fetched = Attribute(conn, id=attr.id)
    check(fetched.name == "Subcategory", "fetched by id")
    check([f.id for f in fetched.forms] == [ID_CATEGORY, DESC_CATEGORY], "form ids are the category ids")
    tree = fetched.forms[0].expressions[0].expression.tree
    check(isinstance(tree, ColumnReference) and tree.column_name == "SUBCAT_ID", "ID form as a tree")
    check(fetched.key_form.id == ID_CATEGORY, "key form is ID")
    with_tokens = Attribute(conn, id=attr.id, show_expression_as="tokens")
    tokens = with_tokens.forms[1].expressions[0].expression.tokens
    check(tokens and tokens[0].value == "SUBCAT_DESC", "DESC form as tokens")
    raw = conn.get(
        f"{conn.base_url}/api/model/attributes/{attr.id}",
        params=[("showExpressionAs", "tree"), ("showExpressionAs", "tokens")],
    ).json()
    expr = raw["forms"][0]["expressions"][0]["expression"]
    check({"text", "tree", "tokens"} <= set(expr), "tree and tokens together")

    # Alter: rename; add a form; change the key form.
    fetched.alter(name="Subcategory 2", description="desc changed")
    again = Attribute(conn, id=attr.id)
    check(again.name == "Subcategory 2" and again.description == "desc changed", "renamed")
    cat_form = AttributeForm.local_create(
        conn, name="Category", category="CATEGORY", display_format=AttributeForm.DisplayFormat.NUMBER,
        expressions=[column("CATEGORY_ID")], lookup_table=table,
    )
    again.add_form(form=cat_form)
    again = Attribute(conn, id=attr.id)
    check([f.name for f in again.forms] == ["ID", "DESC", "Category"], "form added")
    cat_id = again.forms[2].id
    again.alter(key_form=FormReference(id=cat_id))
    again = Attribute(conn, id=attr.id)
    check(again.key_form.id == cat_id, "key form changed")
    again.alter(hidden=True)
    check(Attribute(conn, id=attr.id).hidden is True, "hidden through /api/objects")

    # List attributes.
    listed = conn.get(f"{conn.base_url}/api/model/attributes").json()
    check([a["information"]["objectId"] for a in listed["attributes"]] == [attr.id], "listed")

    # Delete it.
    check(again.delete(force=True), "deleted")
    gone = conn.get(f"{conn.base_url}/api/model/attributes/{attr.id}")
    check(gone.status_code == 404 and gone.json()["code"] == "ERR004", "gone after delete")
    conn.close()
    print("all checks passed", flush=True)


if __name__ == "__main__":
    main()
