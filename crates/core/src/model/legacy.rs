//! Stored documents of an older shape and their upgrade. Logical tables were once stored with
//! their physical table inside (`physical_name`, `namespace`, `columns`, `physical_id`); a
//! physical table is now an object of its own. The store upgrades such documents once, when it
//! opens, with [`upgrade_table`]: the logical table keeps its id, version and everything else,
//! and the physical table it held becomes an object with the id it already had.

use serde::Deserialize;

use crate::ids::Guid;
use crate::model::types::*;

#[derive(Deserialize)]
struct LegacyObject {
    info: ObjectInfo,
    body: LegacyBody,
}

#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum LegacyBody {
    Table(LegacyTable),
}

#[derive(Deserialize)]
struct LegacyTable {
    physical_name: String,
    #[serde(default)]
    namespace: String,
    columns: Vec<Column>,
    physical_id: Guid,
}

/// The logical table and its physical table made from `json`, a stored object, when it is a
/// logical table of the older shape; `None` for any other document.
pub fn upgrade_table(json: &str) -> Option<(ModelObject, ModelObject)> {
    let old: LegacyObject = serde_json::from_str(json).ok()?;
    let LegacyBody::Table(t) = old.body;
    let physical = ModelObject {
        info: ObjectInfo {
            id: t.physical_id,
            project: old.info.project,
            kind: ObjectKind::PhysicalTable,
            name: t.physical_name.clone(),
            description: String::new(),
            folder: None,
            hidden: false,
            comments: Vec::new(),
            owner: old.info.owner,
            created_ms: old.info.created_ms,
            modified_ms: old.info.modified_ms,
            // The same on every node that upgrades the same document.
            version: old.info.version,
            acl: old.info.acl.clone(),
        },
        body: Body::PhysicalTable(PhysicalTable {
            table_type: PhysicalTableType::Normal,
            table_name: t.physical_name,
            namespace: t.namespace,
            table_prefix: String::new(),
            sql_statement: None,
            columns: t.columns,
        }),
    };
    let logical = ModelObject {
        info: old.info,
        body: Body::Table(Table {
            physical_id: t.physical_id,
            logical_size: 0,
            is_logical_size_locked: false,
            is_true_key: false,
            enclose_sql_in_parentheses: true,
        }),
    };
    Some((logical, physical))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A logical table as vestibule stored it before physical tables were objects.
    const OLD: &str = r#"{"info":{"id":"0D8C36BB48E0462DB6EFE4CE9313072E","project":"B19DEDCC11D4E0EFC000EB9495D0F44F",
        "kind":"table","name":"City Sales","description":"d","folder":"06935F5167AB27050B3466FC585223F4",
        "hidden":false,"comments":[],"owner":"54F3D26011D2896560009A8E67019608","created_ms":1000,
        "modified_ms":2000,"version":"EF55258A468A4D05A22BA61E62AD795C","acl":null},
        "body":{"kind":"table","physical_name":"CITY_CTR_SLS","namespace":"dbo",
        "columns":[{"id":"8D6791B211D3E4981000E787EC6DE8A4","name":"CUST_CITY_ID",
        "data_type":{"type":"integer","precision":4,"scale":-2147483648}}],
        "physical_id":"162A8096CF344F6CB8D03F72049F2882"}}"#;

    #[test]
    fn an_old_logical_table_becomes_a_logical_and_a_physical_table() {
        let (logical, physical) = upgrade_table(OLD).expect("an old table");
        let pid: Guid = "162A8096CF344F6CB8D03F72049F2882".parse().unwrap();
        assert_eq!(logical.info.id.to_hex(), "0D8C36BB48E0462DB6EFE4CE9313072E");
        assert_eq!(logical.info.name, "City Sales");
        assert_eq!(logical.info.version.to_hex(), "EF55258A468A4D05A22BA61E62AD795C");
        assert_eq!(logical.table().map(|t| t.physical_id), Some(pid));
        assert_eq!(logical.references(), vec![(pid, ObjectKind::PhysicalTable)]);
        assert_eq!(logical.owned(), vec![pid]);

        assert_eq!(physical.info.id, pid);
        assert_eq!(physical.info.kind, ObjectKind::PhysicalTable);
        assert_eq!(physical.info.project, logical.info.project);
        assert_eq!(physical.info.name, "CITY_CTR_SLS");
        assert_eq!(physical.info.folder, None);
        let p = physical.physical_table().expect("a physical table");
        assert_eq!(p.table_type, PhysicalTableType::Normal);
        assert_eq!(
            (p.table_name.as_str(), p.namespace.as_str()),
            ("CITY_CTR_SLS", "dbo")
        );
        let c = p.column("cust_city_id").expect("its column");
        assert_eq!(c.id.to_hex(), "8D6791B211D3E4981000E787EC6DE8A4");
        assert_eq!(c.data_type, DataType::of("integer"));

        // What the store writes back reads as the new shape, and is not upgraded again.
        let written = serde_json::to_string(&logical).unwrap();
        assert!(upgrade_table(&written).is_none());
        let back: ModelObject = serde_json::from_str(&written).unwrap();
        assert_eq!(back, logical);
        let written = serde_json::to_string(&physical).unwrap();
        assert!(upgrade_table(&written).is_none());
        assert_eq!(serde_json::from_str::<ModelObject>(&written).unwrap(), physical);
    }

    #[test]
    fn other_documents_are_left_alone() {
        assert!(upgrade_table("not json").is_none());
        let folder = OLD.replace(
            r#""kind":"table","physical_name""#,
            r#""kind":"folder","physical_name""#,
        );
        assert!(upgrade_table(&folder).is_none());
    }
}
