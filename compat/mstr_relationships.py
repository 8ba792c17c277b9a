"""mstrio-py's attribute relationship workflows against vestibule: add_parent, add_child,
remove_parent, remove_child from either attribute, each checked from both attributes'
definitions (`Attribute.relationships`) and from the system hierarchy endpoint
(`mstrio.api.hierarchies.get_attribute_relationships`); then a relationship made inside a
changeset, seen from both sides there and only after the commit outside it; then a joint child
(`add_child(joint_child=[…])`), read back as mstrio-py's `Relationship.joint_child` from the
parent and each member, and removed with `remove_child(joint_child=[…])`.

Usage: mstr_relationships.py BASE_URL USER PASSWORD PROJECT_ID TABLE_ID ATTRIBUTES_FOLDER_ID
The table (LU_SUBCATEG with SUBCAT_ID, SUBCAT_DESC, CATEGORY_ID, ITEM_ID, PROMO_ID) is made
before, with `vestibule table add`. Exits non-zero with a message on the first check that fails.
"""

import sys

from mstrio.api import changesets, hierarchies
from mstrio.connection import Connection
from mstrio.modeling.expression import Expression, FactExpression
from mstrio.modeling.expression.expression_nodes import ColumnReference
from mstrio.modeling.schema import ObjectSubType, SchemaObjectReference
from mstrio.modeling.schema.attribute import Attribute, AttributeForm, RelationshipType
from mstrio.modeling.schema.helpers import AttributeDisplays, FormReference


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

    def make(name, column):
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

    cat, sub, item = make("Category", "CATEGORY_ID"), make("Subcategory", "SUBCAT_ID"), make("Item", "ITEM_ID")
    promo = make("Promotion", "PROMO_ID")
    ref = {a.id: SchemaObjectReference(sub_type=ObjectSubType.ATTRIBUTE, object_id=a.id, name=a.name)
           for a in (cat, sub, item, promo)}
    names = {cat.id: "Category", sub.id: "Subcategory", item.id: "Item", promo.id: "Promotion"}

    def pairs_of(rels):
        return sorted((names[r.parent.object_id], names[r.child.object_id], r.relationship_type.value) for r in rels)

    def hierarchy(attr_id):
        got = hierarchies.get_attribute_relationships(conn, attr_id, project).json()["relationships"]
        return sorted((names[r["parent"]["objectId"]], names[r["child"]["objectId"]], r["relationshipType"]) for r in got)

    def expect(pairs, what):
        """Every attribute sees exactly the `pairs` it is in, from its definition and the hierarchy."""
        for attr_id, name in names.items():
            mine = sorted(p for p in pairs if name in p[:2])
            fresh = Attribute(conn, id=attr_id)
            check(pairs_of(fresh.relationships) == mine, f"{what}: {name}'s definition")
            check(hierarchy(attr_id) == mine, f"{what}: {name}'s system hierarchy")

    cat_sub = ("Category", "Subcategory", "one_to_many")
    sub_item = ("Subcategory", "Item", "one_to_many")

    # From the child: add_parent, remove_parent.
    Attribute(conn, id=sub.id).add_parent(ref[cat.id])
    expect([cat_sub], "sub.add_parent(cat)")
    Attribute(conn, id=sub.id).remove_parent(ref[cat.id])
    expect([], "sub.remove_parent(cat)")

    # From the parent: add_child; removed from the other side, then from the same side.
    Attribute(conn, id=cat.id).add_child(ref[sub.id])
    expect([cat_sub], "cat.add_child(sub)")
    Attribute(conn, id=sub.id).remove_parent(ref[cat.id])
    expect([], "sub.remove_parent(cat) after cat.add_child(sub)")
    Attribute(conn, id=cat.id).add_child(ref[sub.id])
    Attribute(conn, id=item.id).add_parent(ref[sub.id], relationship_type=RelationshipType.ONE_TO_MANY)
    expect([cat_sub, sub_item], "a chain: cat > sub > item")
    Attribute(conn, id=cat.id).remove_child(ref[sub.id])
    expect([sub_item], "cat.remove_child(sub) keeps sub > item")
    Attribute(conn, id=sub.id).remove_child(ref[item.id])
    expect([], "sub.remove_child(item)")

    # A relationship made inside a changeset: both sides see it there, the committed model not
    # before the commit.
    cs = changesets.create_changeset(conn, project_id=project, schema_edit=True).json()["id"]
    body = {"relationships": [{
        "parent": {"objectId": cat.id, "subType": "attribute", "name": "Category"},
        "child": {"objectId": sub.id, "subType": "attribute", "name": "Subcategory"},
        "relationshipTable": {"objectId": table_id, "subType": "logical_table", "name": "LU_SUBCATEG"},
        "relationshipType": "one_to_one",
    }]}
    put = conn.put(f"{conn.base_url}/api/model/systemHierarchy/attributes/{cat.id}/relationships",
                   headers={"X-MSTR-MS-Changeset": cs}, json=body)
    check(put.status_code == 200, "PUT from the parent inside a changeset")
    for attr_id in (cat.id, sub.id):
        inside = conn.get(f"{conn.base_url}/api/model/attributes/{attr_id}", headers={"X-MSTR-MS-Changeset": cs}).json()
        check(len(inside["relationships"]) == 1 and inside["relationships"][0]["relationshipType"] == "one_to_one",
              f"inside the changeset: {names[attr_id]}")
        check(Attribute(conn, id=attr_id).relationships == [], f"not committed yet: {names[attr_id]}")
    check(changesets.commit_changeset_changes(conn, id=cs).status_code == 201, "committed")
    check(changesets.delete_changeset(conn, id=cs).ok, "changeset deleted")
    expect([("Category", "Subcategory", "one_to_one")], "after the commit")

    # A joint child: Promotion's child is Item and Subcategory together.
    joint = [ref[item.id], ref[sub.id]]
    Attribute(conn, id=promo.id).add_child(
        joint_child=joint, relationship_type=RelationshipType.MANY_TO_MANY, table=table
    )

    def joints_of(rels):
        return [(names[r.parent.object_id], [names[c.object_id] for c in r.joint_child], r.relationship_type.value)
                for r in rels if hasattr(r, "joint_child")]

    promo_joint = [("Promotion", ["Item", "Subcategory"], "many_to_many")]
    for attr_id in (promo.id, item.id, sub.id):
        fresh = Attribute(conn, id=attr_id)
        check(joints_of(fresh.relationships) == promo_joint, f"the joint child from {names[attr_id]}'s definition")
        got = hierarchies.get_attribute_relationships(conn, attr_id, project).json()["relationships"]
        seen = [(names[r["parent"]["objectId"]], [names[c["objectId"]] for c in r["jointChild"]], r["relationshipType"])
                for r in got if "jointChild" in r]
        check(seen == promo_joint and all(("child" in r) != ("jointChild" in r) for r in got),
              f"the joint child from {names[attr_id]}'s system hierarchy")
    sub_rels = Attribute(conn, id=sub.id).relationships
    check([(names[r.parent.object_id], names[r.child.object_id]) for r in sub_rels if hasattr(r, "child")]
          == [("Category", "Subcategory")], "Subcategory keeps its parent beside the joint child")
    # Adding it again is left out by mstrio itself; the server refuses a duplicate.
    cs = changesets.create_changeset(conn, project_id=project, schema_edit=True).json()["id"]
    rel_json = {"parent": {"objectId": promo.id, "subType": "attribute"},
                "jointChild": [{"objectId": sub.id, "subType": "attribute"}, {"objectId": item.id, "subType": "attribute"}],
                "relationshipTable": {"objectId": table_id, "subType": "logical_table"}, "relationshipType": "one_to_many"}
    twice = conn.put(f"{conn.base_url}/api/model/systemHierarchy/attributes/{promo.id}/relationships",
                     headers={"X-MSTR-MS-Changeset": cs}, json={"relationships": [rel_json, rel_json]})
    check(twice.status_code == 400 and twice.json()["code"] == "ERR006", "a joint child given twice is refused")
    changesets.delete_changeset(conn, id=cs)
    # Removed from the parent, as mstrio does it: gone for every member.
    Attribute(conn, id=promo.id).remove_child(joint_child=[ref[item.id], ref[sub.id]])
    for attr_id in (promo.id, item.id, sub.id):
        check(joints_of(Attribute(conn, id=attr_id).relationships) == [],
              f"remove_child(joint_child=…): gone from {names[attr_id]}")
    expect([("Category", "Subcategory", "one_to_one")], "after the joint child is removed")
    conn.close()
    print("all checks passed", flush=True)


if __name__ == "__main__":
    main()
