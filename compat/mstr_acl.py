"""mstrio-py's object ACL workflow against vestibule: `attr.acl`, `list_acl()`, `acl_add`,
`acl_remove`, `acl_alter` as the administrator, and what two non-admin users of one group then
can and cannot do with the attribute (read, alter, delete, change its ACL).

Usage: mstr_acl.py BASE_URL ADMIN_PASSWORD PROJECT_ID TABLE_ID ATTRIBUTES_FOLDER_ID
                   USER_PASSWORD ALICE_ID BOB_ID GROUP_ID
alice and bob (password USER_PASSWORD) are members of GROUP_ID, which holds the schema
privilege. Exits non-zero with a message on the first check that fails.
"""

import sys

from mstrio.connection import Connection
from mstrio.helpers import AggregatedRights, IServerError, Rights
from mstrio.modeling.expression import Expression, FactExpression
from mstrio.modeling.expression.expression_nodes import ColumnReference
from mstrio.modeling.schema import ObjectSubType, SchemaObjectReference
from mstrio.modeling.schema.attribute import Attribute, AttributeForm
from mstrio.modeling.schema.helpers import AttributeDisplays, FormReference
from mstrio.utils.acl import ACE


def check(cond, what):
    if not cond:
        print(f"FAILED: {what}", flush=True)
        sys.exit(1)
    print(f"ok: {what}", flush=True)


def refused(action, what):
    """`action` must raise mstrio's IServerError for a 403 ERR017."""
    try:
        action()
    except IServerError as e:
        check(e.http_code == 403 and "ERR017" in str(e), f"{what} (refused: {e})")
        return
    check(False, f"{what} (it was allowed)")


def entry(attr, trustee, deny=False):
    found = attr.list_acl(trustee_id=trustee, deny=deny)
    return found[0] if found else None


def main():
    base, admin_pw, project, table_id, folder, user_pw, alice, bob, group = sys.argv[1:10]
    admin = Connection(base, "administrator", admin_pw, project_id=project, login_mode=1)
    table = SchemaObjectReference(sub_type=ObjectSubType.LOGICAL_TABLE, object_id=table_id, name="LU_SUBCATEG")

    def form(name, category, column, fmt):
        expr = FactExpression(expression=Expression(tree=ColumnReference(column_name=column)), tables=[table])
        return AttributeForm.local_create(
            admin, name=name, category=category, display_format=fmt, expressions=[expr], lookup_table=table
        )

    attr = Attribute.create(
        admin,
        name="Subcategory",
        sub_type=ObjectSubType.ATTRIBUTE,
        destination_folder=folder,
        forms=[
            form("ID", "ID", "SUBCAT_ID", AttributeForm.DisplayFormat.NUMBER),
            form("DESC", "DESC", "SUBCAT_DESC", AttributeForm.DisplayFormat.TEXT),
        ],
        key_form=FormReference(name="ID"),
        displays=AttributeDisplays(
            report_displays=[FormReference(name="DESC")], browse_displays=[FormReference(name="DESC")]
        ),
        attribute_lookup_table=table,
    )

    # attr.acl and list_acl(): the default rule, the owner Full Control, Everyone all but Control.
    acl = Attribute(admin, id=attr.id).acl
    check(isinstance(acl, list) and acl and all(isinstance(a, ACE) for a in acl), "attr.acl is a list of ACEs")
    owner = [a for a in acl if a.trustee_subtype == 8704]
    check(len(owner) == 1 and owner[0].rights == Rights(255) and owner[0].trustee_type == 34, "owner has Full Control")
    everyone = attr.list_acl(trustee_name="Everyone")
    check(len(everyone) == 1 and int(everyone[0].rights) == 223, "list_acl(trustee_name='Everyone')")
    everyone_id = everyone[0].trustee_id
    check(attr.list_acl(to_dictionary=True)[0].keys() >= {"trusteeId", "rights", "deny", "type"}, "list_acl as dicts")

    # acl_alter (REPLACE), acl_add (ADD), acl_remove (REMOVE).
    attr.acl_alter(rights=0, trustees=everyone_id)
    check(entry(attr, everyone_id) is None, "acl_alter(rights=0) takes Everyone out")
    attr.acl_add(rights=AggregatedRights.VIEW, trustees=group)
    check(entry(attr, group) is not None and int(entry(attr, group).rights) == 197, "acl_add VIEW for the group")
    attr.acl_add(rights=Rights.WRITE | Rights.DELETE, trustees=alice)
    check(int(entry(attr, alice).rights) == 24, "acl_add Write and Delete for alice")
    fresh = Attribute(admin, id=attr.id)
    check(int(entry(fresh, group).rights) == 197 and entry(fresh, everyone_id) is None, "the ACL is stored")

    a = Connection(base, "alice", user_pw, project_id=project, login_mode=1)
    b = Connection(base, "bob", user_pw, project_id=project, login_mode=1)

    # alice may read and change it; bob may read it, not change it, delete it or change its ACL.
    as_alice = Attribute(a, id=attr.id)
    as_alice.alter(description="changed by alice")
    check(Attribute(admin, id=attr.id).description == "changed by alice", "alice alters it (Write)")
    as_bob = Attribute(b, id=attr.id)
    check(as_bob.name == "Subcategory", "bob reads it (View through the group)")
    refused(lambda: as_bob.alter(description="changed by bob"), "bob alters it")
    refused(lambda: as_bob.acl_add(rights=Rights.WRITE, trustees=bob), "bob changes its ACL")
    refused(lambda: as_bob.delete(force=True), "bob deletes it")

    # A denial wins over the group's grant: bob no longer sees it.
    attr.acl_add(rights=AggregatedRights.ALL, trustees=bob, denied=True)
    check(int(entry(attr, bob, deny=True).rights) == 255, "acl_add denied for bob")
    refused(lambda: Attribute(b, id=attr.id), "bob reads it after the denial")
    listed = b.get(f"{b.base_url}/api/model/attributes").json()["attributes"]
    check(attr.id not in [x["information"]["objectId"] for x in listed], "bob's list leaves it out")
    attr.acl_remove(rights=AggregatedRights.ALL, trustees=bob, denied=True)
    check(entry(attr, bob, deny=True) is None, "acl_remove takes the denial away")
    check(Attribute(b, id=attr.id).name == "Subcategory", "bob reads it again")

    # acl_remove of alice's Write: she cannot alter it any more (Delete needs Write too).
    attr.acl_remove(rights=Rights.WRITE, trustees=alice)
    check(int(entry(attr, alice).rights) == 16, "acl_remove Write from alice")
    refused(lambda: Attribute(a, id=attr.id).alter(description="again"), "alice alters it without Write")

    # The administrator passes every check, even with no entry of its own.
    attr.acl_remove(rights=AggregatedRights.ALL, trustees=owner[0].trustee_id)
    check(not [x for x in attr.acl if x.trustee_subtype == 8704 and x.trustee_id == owner[0].trustee_id],
          "the administrator's entry is gone")
    attr.alter(description="changed by the administrator")
    check(Attribute(admin, id=attr.id).description == "changed by the administrator", "the administrator alters it")
    check(attr.delete(force=True), "the administrator deletes it")
    for c in (a, b, admin):
        c.close()
    print("all checks passed", flush=True)


if __name__ == "__main__":
    main()
