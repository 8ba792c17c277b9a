//! Logical tables and the physical tables they are over: making a logical table over a new
//! warehouse table, a new free-form SQL table or an existing physical table (an alias, sharing
//! its columns), reading a logical table's physical table, and reading a table's structure again.
//!
//! A physical table is an object of its own (MicroStrategy's type 53). It is made with its first
//! logical table and goes with its last (the store removes it in the delete's transaction, see
//! [`ModelObject::owned`]); while any logical table is over it, it cannot be deleted.

use crate::clock::now_ms;
use crate::core::Principal;
use crate::directory::check_name;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::model::service::{ModelService, View};
use crate::model::spec::{ColumnSpec, PhysicalSpec, TableSpec};
use crate::model::types::*;
use crate::model::Place;
use crate::privilege::Privilege;

/// The name a free-form SQL table gets when none is given (MicroStrategy's).
pub const DEFAULT_SQL_TABLE_NAME: &str = "New Custom Sql";

/// A logical table just made, and the physical table it is over.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTable {
    pub table: ModelObject,
    pub physical: ModelObject,
    /// Whether the physical table was made with it (else it is an alias of one that was there).
    pub physical_is_new: bool,
}

/// How many `Name (n)` a table without a given name tries before giving up.
const NAME_TRIES: usize = 1000;

/// The columns of a new physical table, checked: at least one, each named once, each of a known
/// data type.
fn new_columns(specs: Vec<ColumnSpec>) -> Result<Vec<Column>> {
    if specs.is_empty() {
        return Err(CoreError::MissingField(
            "A table needs at least one column (there is no warehouse to read them from)".into(),
        ));
    }
    let mut columns: Vec<Column> = Vec::new();
    for c in specs {
        check_name("column", &c.name)?;
        if columns.iter().any(|x| x.name.eq_ignore_ascii_case(&c.name)) {
            return Err(CoreError::Invalid(format!(
                "The column '{}' is given twice",
                c.name
            )));
        }
        if !DATA_TYPES.contains(&c.data_type.kind.as_str()) {
            return Err(CoreError::Invalid(format!(
                "Unknown data type '{}' for column '{}' (one of: {})",
                c.data_type.kind,
                c.name,
                DATA_TYPES.join(", ")
            )));
        }
        columns.push(Column {
            id: Guid::random(),
            name: c.name,
            data_type: c.data_type,
        });
    }
    Ok(columns)
}

/// What a request says of an existing physical table, to be checked against it.
#[derive(Clone, Copy)]
struct Given<'a> {
    table_type: Option<PhysicalTableType>,
    table_name: Option<&'a str>,
    namespace: Option<&'a str>,
    sql_statement: Option<&'a str>,
    columns: &'a [ColumnSpec],
}

/// Checks that what is given of an existing physical table agrees with it: a logical table over
/// it takes it as it is, its columns included.
fn agrees(obj: &ModelObject, p: &PhysicalTable, given: &Given) -> Result<()> {
    let differs = |what: &str, have: &str, want: &str| {
        CoreError::Invalid(format!(
            "The physical table '{}' ({}) has {what} '{have}', not '{want}'; a table over an existing \
             physical table takes it as it is",
            obj.info.name, obj.info.id
        ))
    };
    if let Some(t) = given.table_type {
        if t != p.table_type {
            return Err(differs("the type", p.table_type.as_str(), t.as_str()));
        }
    }
    if let Some(n) = given.table_name {
        if !n.eq_ignore_ascii_case(&p.table_name) {
            return Err(differs("the table name", &p.table_name, n));
        }
    }
    if let Some(n) = given.namespace {
        if !n.eq_ignore_ascii_case(&p.namespace) {
            return Err(differs("the namespace", &p.namespace, n));
        }
    }
    if let Some(s) = given.sql_statement {
        let have = p.sql_statement.as_deref().unwrap_or_default();
        if s.trim() != have.trim() {
            return Err(differs("the SQL statement", have, s));
        }
    }
    for c in given.columns {
        if p.column(&c.name).is_none() {
            return Err(CoreError::Invalid(format!(
                "The physical table '{}' ({}) has no column '{}' (its columns: {}); a table over an \
                 existing physical table uses its columns",
                obj.info.name,
                obj.info.id,
                c.name,
                p.columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(())
}

/// A physical table as a model object, of `project`, not yet with its ACL.
fn physical_object(project: Guid, name: String, owner: Option<Guid>, body: PhysicalTable) -> ModelObject {
    let now = now_ms();
    ModelObject {
        info: ObjectInfo {
            id: Guid::random(),
            project,
            kind: ObjectKind::PhysicalTable,
            name,
            description: String::new(),
            folder: None,
            hidden: false,
            comments: Vec::new(),
            owner,
            created_ms: now,
            modified_ms: now,
            version: Guid::random(),
            acl: None,
        },
        body: Body::PhysicalTable(body),
    }
}

impl ModelService {
    /// The physical table `table` (a logical table) is over, as `view` sees it.
    pub async fn physical_of(&self, view: &View, table: &ModelObject) -> Result<ModelObject> {
        let Some(t) = table.table() else {
            return Err(CoreError::NotFound(format!(
                "The table with id '{}' could not be found",
                table.info.id
            )));
        };
        match self.get(view, t.physical_id).await? {
            Some(p) if p.info.kind == ObjectKind::PhysicalTable => Ok(p),
            _ => Err(CoreError::NotFound(format!(
                "The physical table '{}' of the table '{}' could not be found",
                t.physical_id, table.info.name
            ))),
        }
    }

    /// The normal physical table of the view for the warehouse table `namespace`.`name` (the
    /// first made, should there be several).
    async fn warehouse_table(&self, view: &View, namespace: &str, name: &str) -> Result<Option<ModelObject>> {
        Ok(self
            .list(view, Some(ObjectKind::PhysicalTable))
            .await?
            .into_iter()
            .filter(|o| {
                o.physical_table().is_some_and(|p| {
                    p.table_type == PhysicalTableType::Normal
                        && p.table_name.eq_ignore_ascii_case(name)
                        && p.namespace.eq_ignore_ascii_case(namespace)
                })
            })
            .min_by_key(|o| (o.info.created_ms, o.info.id)))
    }

    /// The physical table a new logical table is over: `(existing, None)` or `(None, new)`.
    async fn physical_for(
        &self,
        view: &View,
        owner: Option<Guid>,
        spec: &TableSpec,
    ) -> Result<(Option<ModelObject>, Option<ModelObject>)> {
        match &spec.physical {
            PhysicalSpec::Existing {
                id,
                table_type,
                table_name,
                namespace,
                sql_statement,
                columns,
            } => {
                let found = match self.get(view, *id).await? {
                    Some(o) if o.info.kind == ObjectKind::PhysicalTable => o,
                    _ => {
                        return Err(CoreError::NotFound(format!(
                            "The physical table with id '{id}' could not be found"
                        )))
                    }
                };
                if let Some(p) = found.physical_table() {
                    agrees(
                        &found,
                        p,
                        &Given {
                            table_type: *table_type,
                            table_name: table_name.as_deref(),
                            namespace: namespace.as_deref(),
                            sql_statement: sql_statement.as_deref(),
                            columns,
                        },
                    )?;
                }
                Ok((Some(found), None))
            }
            PhysicalSpec::Normal {
                table_name,
                namespace,
                table_prefix,
                columns,
            } => {
                let table_name = table_name.clone().or_else(|| spec.name.clone()).ok_or_else(|| {
                    CoreError::MissingField(
                        "A table over a warehouse table needs its name or the warehouse table's name".into(),
                    )
                })?;
                check_name("table", &table_name)?;
                let namespace = namespace.clone().unwrap_or_default();
                if let Some(found) = self.warehouse_table(view, &namespace, &table_name).await? {
                    if let Some(p) = found.physical_table() {
                        agrees(
                            &found,
                            p,
                            &Given {
                                table_type: None,
                                table_name: None,
                                namespace: None,
                                sql_statement: None,
                                columns,
                            },
                        )?;
                        if let Some(prefix) = table_prefix {
                            if !prefix.eq_ignore_ascii_case(&p.table_prefix) {
                                return Err(CoreError::Invalid(format!(
                                    "The physical table '{}' ({}) has the table prefix '{}', not '{prefix}'",
                                    found.info.name, found.info.id, p.table_prefix
                                )));
                            }
                        }
                    }
                    return Ok((Some(found), None));
                }
                let body = PhysicalTable {
                    table_type: PhysicalTableType::Normal,
                    table_name: table_name.clone(),
                    namespace,
                    table_prefix: table_prefix.clone().unwrap_or_default(),
                    sql_statement: None,
                    columns: new_columns(columns.clone())?,
                };
                let new = physical_object(view.project(), table_name, owner, body);
                Ok((None, Some(new)))
            }
            PhysicalSpec::Sql {
                sql_statement,
                columns,
            } => {
                if sql_statement.trim().is_empty() {
                    return Err(CoreError::MissingField(
                        "A free-form SQL table needs its SQL statement".into(),
                    ));
                }
                let body = PhysicalTable {
                    table_type: PhysicalTableType::Sql,
                    table_name: String::new(),
                    namespace: String::new(),
                    table_prefix: String::new(),
                    sql_statement: Some(sql_statement.clone()),
                    columns: new_columns(columns.clone())?,
                };
                // Named after its logical table, once that has its name.
                let new = physical_object(view.project(), String::new(), owner, body);
                Ok((None, Some(new)))
            }
        }
    }

    /// A new logical table over the physical table `spec` names (made with it when new): staged
    /// in the changeset of `view`, or written at once when `view` is the committed model (the
    /// CLI).
    pub async fn create_table(
        &self,
        view: &View,
        caller: Option<&Principal>,
        spec: TableSpec,
    ) -> Result<NewTable> {
        match (view, caller) {
            (View::Committed(_), None) | (View::Changeset(_), Some(_)) => {}
            (View::Changeset(_), None) | (View::Committed(_), Some(_)) => {
                return Err(CoreError::Unplaced(Place::Changeset))
            }
        }
        if let Some(c) = caller {
            c.require(Privilege::SCHEMA_EDIT)?;
        }
        let owner = caller.map(|c| c.user.user.id);
        let folder = spec.folder.unwrap_or(crate::model::folders::TABLES_FOLDER);
        self.check_folder(view, folder).await?;
        if let Some(n) = &spec.name {
            // A name taken is the first thing to say, whatever else the definition holds.
            let mut probe = self.named_probe(view, folder);
            probe.info.name = n.clone();
            self.check_unique(view, &probe).await?;
        }
        let (existing, new) = self.physical_for(view, owner, &spec).await?;
        let physical_is_new = new.is_some();
        let (mut physical, default_name) = match (existing, new) {
            (Some(p), _) | (None, Some(p)) => {
                let name = match p.physical_table().map(|b| b.table_type) {
                    Some(PhysicalTableType::Sql) if physical_is_new => DEFAULT_SQL_TABLE_NAME.to_owned(),
                    _ => p.info.name.clone(),
                };
                (p, name)
            }
            (None, None) => return Err(CoreError::Internal("no physical table for a new table".into())),
        };
        let physical_id = physical.info.id;
        let now = now_ms();
        let mut table = ModelObject {
            info: ObjectInfo {
                id: Guid::random(),
                project: view.project(),
                kind: ObjectKind::Table,
                name: String::new(),
                description: spec.description.clone().unwrap_or_default(),
                folder: Some(folder),
                hidden: false,
                comments: Vec::new(),
                owner,
                created_ms: now,
                modified_ms: now,
                version: Guid::random(),
                acl: None,
            },
            body: Body::Table(Table {
                physical_id,
                logical_size: spec.logical_size.unwrap_or(0),
                is_logical_size_locked: spec.is_logical_size_locked.unwrap_or(false),
                is_true_key: spec.is_true_key.unwrap_or(false),
                enclose_sql_in_parentheses: spec.enclose_sql_in_parentheses.unwrap_or(true),
            }),
        };
        match &spec.name {
            Some(n) => {
                table.info.name = n.clone();
                self.check_unique(view, &table).await?;
            }
            None => table.info.name = self.free_name(view, &table, &default_name).await?,
        }
        if physical_is_new {
            if physical.info.name.is_empty() {
                physical.info.name = table.info.name.clone();
            }
            // The physical table has no folder: it takes the ACL its first logical table gets.
            let mut acl_of = table.clone();
            self.inherit_acl(view, &mut acl_of).await?;
            physical.info.acl = acl_of.info.acl;
        }
        let (table, physical) = match caller {
            // The operator's command line, which no ACL binds: both written in one transaction.
            None => {
                self.inherit_acl(view, &mut table).await?;
                let mut objects = Vec::new();
                if physical_is_new {
                    objects.push(physical.clone());
                }
                objects.push(table.clone());
                self.store().put_objects(&objects).await?;
                (table, physical)
            }
            Some(caller) => {
                if physical_is_new {
                    physical = self.stage(caller, view, physical).await?;
                }
                (self.stage(caller, view, table).await?, physical)
            }
        };
        Ok(NewTable {
            table,
            physical,
            physical_is_new,
        })
    }

    /// A table object in `folder` to probe names with.
    fn named_probe(&self, view: &View, folder: Guid) -> ModelObject {
        ModelObject {
            info: ObjectInfo {
                id: Guid::random(),
                project: view.project(),
                kind: ObjectKind::Table,
                name: String::new(),
                description: String::new(),
                folder: Some(folder),
                hidden: false,
                comments: Vec::new(),
                owner: None,
                created_ms: 0,
                modified_ms: 0,
                version: Guid::random(),
                acl: None,
            },
            body: Body::Table(Table {
                physical_id: Guid::random(),
                logical_size: 0,
                is_logical_size_locked: false,
                is_true_key: false,
                enclose_sql_in_parentheses: true,
            }),
        }
    }

    /// `base` if no other table has it in the folder of `table`, else the first free `base (n)`.
    async fn free_name(&self, view: &View, table: &ModelObject, base: &str) -> Result<String> {
        let mut probe = table.clone();
        for candidate in
            std::iter::once(base.to_owned()).chain((1..=NAME_TRIES).map(|i| format!("{base} ({i})")))
        {
            probe.info.name = candidate;
            match self.check_unique(view, &probe).await {
                Ok(()) => return Ok(probe.info.name),
                Err(CoreError::AlreadyExists(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CoreError::Conflict(format!(
            "No free name was found for a table over '{base}'; give one"
        )))
    }

    /// Reads the structure of the physical table under logical table `id` again, in the
    /// changeset of `view`. A free-form SQL table is left as it is (as MicroStrategy does); a
    /// warehouse table's structure cannot be read without a warehouse, which this server does not
    /// have, so that is refused and nothing changes. Returns the logical and physical tables.
    pub async fn refresh_structure(
        &self,
        caller: &Principal,
        view: &View,
        id: Guid,
    ) -> Result<(ModelObject, ModelObject)> {
        caller.require(Privilege::SCHEMA_EDIT)?;
        view.changeset()?;
        let table = self.read(caller, view, id, ObjectKind::Table).await?;
        self.check(caller, &table, crate::model::acl::Access::Write)
            .await?;
        let physical = self.physical_of(view, &table).await?;
        match physical.physical_table().map(|p| p.table_type) {
            Some(PhysicalTableType::Sql) => Ok((table, physical)),
            _ => Err(CoreError::Invalid(format!(
                "The structure of the warehouse table behind '{}' cannot be read again: this server \
                 has no warehouse connection; the table keeps the columns it was defined with",
                table.info.name
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn physical(columns: &[&str]) -> (ModelObject, PhysicalTable) {
        let body = PhysicalTable {
            table_type: PhysicalTableType::Normal,
            table_name: "LU_REGION".into(),
            namespace: "dbo".into(),
            table_prefix: String::new(),
            sql_statement: None,
            columns: columns
                .iter()
                .map(|c| Column {
                    id: Guid::random(),
                    name: (*c).into(),
                    data_type: DataType::of("integer"),
                })
                .collect(),
        };
        (
            physical_object(Guid::random(), "LU_REGION".into(), None, body.clone()),
            body,
        )
    }

    fn col(name: &str) -> ColumnSpec {
        ColumnSpec {
            name: name.into(),
            data_type: DataType::of("integer"),
        }
    }

    #[test]
    fn a_table_over_an_existing_physical_table_takes_it_as_it_is() {
        let (o, p) = physical(&["REGION_ID", "REGION_DESC"]);
        let none = Given {
            table_type: None,
            table_name: None,
            namespace: None,
            sql_statement: None,
            columns: &[],
        };
        assert!(agrees(&o, &p, &none).is_ok());
        let cols = [col("region_id")];
        let same = Given {
            table_type: Some(PhysicalTableType::Normal),
            table_name: Some("lu_region"),
            namespace: Some("DBO"),
            columns: &cols,
            ..none
        };
        assert!(agrees(&o, &p, &same).is_ok());
        let cols = [col("REGION_ID"), col("COUNTRY")];
        let e = agrees(
            &o,
            &p,
            &Given {
                columns: &cols,
                ..none
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("no column 'COUNTRY'"), "{e}");
        let e = agrees(
            &o,
            &p,
            &Given {
                table_type: Some(PhysicalTableType::Sql),
                ..none
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("the type 'normal', not 'sql'"), "{e}");
        let e = agrees(
            &o,
            &p,
            &Given {
                namespace: Some("public"),
                ..none
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("namespace"), "{e}");
    }

    #[test]
    fn new_columns_are_checked() {
        assert!(matches!(new_columns(vec![]), Err(CoreError::MissingField(_))));
        assert!(matches!(
            new_columns(vec![col("A"), col("a")]),
            Err(CoreError::Invalid(_))
        ));
        let mut odd = col("A");
        odd.data_type.kind = "blob".into();
        assert!(matches!(new_columns(vec![odd]), Err(CoreError::Invalid(_))));
        let made = new_columns(vec![col("A"), col("B")]).unwrap();
        assert_eq!(made.len(), 2);
        assert_ne!(made[0].id, made[1].id);
    }
}
