//! Attributes: create and change them inside a changeset, with every reference resolved and
//! checked (tables and columns exist, one key form, displays and sorts name existing forms), and
//! their relationships (kept and derived in `relationships`).
//!
//! PATCH merge rules (spec §7 q5, written down in docs/compatibility.md): a top-level field that
//! is absent is unchanged; `information` is merged field by field; a `forms` list replaces the
//! forms, each given form taking over the existing form it matches (by id, else category, else
//! name) with its id and with the fields it does not give; an expression keeps its id when its
//! `expressionId` is echoed back.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use crate::clock::now_ms;
use crate::core::Principal;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::model::folders::ATTRIBUTES_FOLDER;
use crate::model::form_types;
use crate::model::service::{ModelService, View};
use crate::model::spec::*;
use crate::model::types::*;
use crate::privilege::Privilege;

/// The id of a form category by its name: the system ID and DESC ids, and a stable id for any
/// other name, so the same category has the same id on every attribute.
pub fn category_id(name: &str) -> Guid {
    if name.eq_ignore_ascii_case("ID") {
        return ID_CATEGORY.parse().unwrap_or_default();
    }
    if name.eq_ignore_ascii_case("DESC") {
        return DESC_CATEGORY.parse().unwrap_or_default();
    }
    let d = Sha256::digest(format!("vestibule-form-category:{}", name.to_lowercase()).as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    Guid(b)
}

const DISPLAY_FORMATS: &[&str] = &[
    "number",
    "text",
    "picture",
    "url",
    "email",
    "html_tag",
    "date",
    "time",
    "symbol",
    "phone_number",
    "date_time",
    "big_decimal",
];

/// The logical tables seen by a view, by id, for resolving references, and the physical tables
/// that hold their columns.
struct Tables {
    logical: HashMap<Guid, ModelObject>,
    physical: HashMap<Guid, ModelObject>,
}

impl Tables {
    fn resolve(&self, r: &Ref) -> Result<Guid> {
        let found = match (&r.id, &r.name) {
            (Some(id), _) => self.logical.get(id).map(|t| t.info.id),
            (None, Some(name)) => self
                .logical
                .values()
                .find(|t| t.info.name.eq_ignore_ascii_case(name))
                .map(|t| t.info.id),
            (None, None) => None,
        };
        found.ok_or_else(|| CoreError::NotFound(format!("The table {} could not be found", r.describe())))
    }

    /// The logical table `id` and the physical table with its columns.
    fn table(&self, id: Guid) -> Option<(&ModelObject, &PhysicalTable)> {
        let o = self.logical.get(&id)?;
        let p = self.physical.get(&o.table()?.physical_id)?.physical_table()?;
        Some((o, p))
    }
}

fn resolve_form(forms: &[Form], r: &Ref, what: &str) -> Result<Guid> {
    let by_id = r.id.and_then(|id| forms.iter().find(|f| f.id == id));
    let by_name = || {
        r.name
            .as_ref()
            .and_then(|n| forms.iter().find(|f| f.name.eq_ignore_ascii_case(n)))
    };
    by_id.or_else(by_name).map(|f| f.id).ok_or_else(|| {
        CoreError::Invalid(format!(
            "The {what} {} is not a form of this attribute",
            r.describe()
        ))
    })
}

impl ModelService {
    async fn tables(&self, view: &View) -> Result<Tables> {
        let by_id = |objects: Vec<ModelObject>| objects.into_iter().map(|t| (t.info.id, t)).collect();
        Ok(Tables {
            logical: by_id(self.list(view, Some(ObjectKind::Table)).await?),
            physical: by_id(self.list(view, Some(ObjectKind::PhysicalTable)).await?),
        })
    }

    /// Builds a form from its spec over `base` (the form it replaces, if any).
    fn build_form(
        spec: FormSpec,
        base: Option<&Form>,
        tables: &Tables,
        attr_lookup: Option<Guid>,
    ) -> Result<Form> {
        if spec.is_form_group {
            return Err(CoreError::Invalid(
                "Form groups are not supported by this server".into(),
            ));
        }
        let name = spec
            .name
            .clone()
            .or_else(|| base.map(|b| b.name.clone()))
            .or_else(|| spec.category.clone())
            .ok_or_else(|| CoreError::MissingField("A form needs a name".into()))?;
        let (id, category) = match base {
            Some(b) => (b.id, b.category.clone()),
            None => match &spec.category {
                Some(c) if !c.trim().is_empty() => {
                    let id = category_id(c);
                    let canonical = if id.to_hex() == ID_CATEGORY {
                        "ID".to_owned()
                    } else if id.to_hex() == DESC_CATEGORY {
                        "DESC".to_owned()
                    } else {
                        c.clone()
                    };
                    (id, Some(canonical))
                }
                _ => (Guid::random(), None),
            },
        };
        let lookup_table = match &spec.lookup_table {
            Some(r) => Some(tables.resolve(r)?),
            None => base.and_then(|b| b.lookup_table),
        };
        let expressions = match spec.expressions {
            Some(list) => {
                let mut out = Vec::new();
                for e in list {
                    let mut table_ids = Vec::new();
                    for r in &e.tables {
                        table_ids.push(tables.resolve(r)?);
                    }
                    if table_ids.is_empty() {
                        match lookup_table.or(attr_lookup) {
                            Some(t) => table_ids.push(t),
                            None => {
                                return Err(CoreError::MissingField(format!(
                                "The expression of form '{name}' names no table and there is no lookup table"
                            )))
                            }
                        }
                    }
                    for t in &table_ids {
                        let Some((tobj, table)) = tables.table(*t) else {
                            continue;
                        };
                        for col in e.expr.columns() {
                            if table.column(col).is_none() {
                                return Err(CoreError::Invalid(format!(
                                    "The column '{col}' of form '{name}' is not in the table '{}'",
                                    tobj.info.name
                                )));
                            }
                        }
                    }
                    let id =
                        e.id.filter(|id| base.is_some_and(|b| b.expressions.iter().any(|x| x.id == *id)))
                            .unwrap_or_else(Guid::random);
                    out.push(FormExpression {
                        id,
                        text: e.expr.to_text(),
                        tables: table_ids,
                    });
                }
                out
            }
            None => base.map(|b| b.expressions.clone()).unwrap_or_default(),
        };
        if expressions.is_empty() {
            return Err(CoreError::MissingField(format!(
                "The form '{name}' needs at least one expression"
            )));
        }
        // The data type comes from the first expression when not given, and the display format
        // from the data type (module `form_types`).
        let data_type = match spec.data_type.or_else(|| base.and_then(|b| b.data_type.clone())) {
            Some(d) => Some(d),
            None => expressions.first().and_then(|e| {
                let expr = vestibule_expr::parse(&e.text).ok()?;
                let column = |c: &str| {
                    e.tables.iter().find_map(|t| {
                        tables
                            .table(*t)
                            .and_then(|(_, tb)| tb.column(c))
                            .map(|c| c.data_type.clone())
                    })
                };
                form_types::infer(&expr, &column)
            }),
        };
        let display_format = spec
            .display_format
            .or_else(|| base.map(|b| b.display_format.clone()))
            .unwrap_or_else(|| form_types::display_format(data_type.as_ref()).into());
        if !DISPLAY_FORMATS.contains(&display_format.as_str()) {
            return Err(CoreError::Invalid(format!(
                "Unknown displayFormat '{display_format}' (one of: {})",
                DISPLAY_FORMATS.join(", ")
            )));
        }
        let is_multilingual = spec
            .is_multilingual
            .or_else(|| base.map(|b| b.is_multilingual))
            .unwrap_or(false);
        Ok(Form {
            id,
            category,
            name,
            description: spec
                .description
                .or_else(|| base.map(|b| b.description.clone()))
                .unwrap_or_default(),
            display_format,
            data_type,
            alias: spec.alias.or_else(|| base.and_then(|b| b.alias.clone())),
            expressions,
            lookup_table,
            is_multilingual,
            geographical_role: spec
                .geographical_role
                .or_else(|| base.map(|b| b.geographical_role.clone()))
                .unwrap_or_else(|| "none".into()),
            time_role: spec
                .time_role
                .or_else(|| base.map(|b| b.time_role.clone()))
                .unwrap_or_else(|| "none".into()),
        })
    }

    /// Applies `spec` over `base` (an existing attribute on PATCH, `None` on create).
    async fn build_attribute(
        &self,
        view: &View,
        spec: AttributeSpec,
        base: Option<&Attribute>,
    ) -> Result<Attribute> {
        let tables = self.tables(view).await?;
        let lookup_table = match &spec.lookup_table {
            Some(r) => Some(tables.resolve(r)?),
            None => base.and_then(|b| b.lookup_table),
        };
        let forms = match spec.forms {
            Some(list) => {
                if list.is_empty() {
                    return Err(CoreError::MissingField(
                        "An attribute needs at least one form".into(),
                    ));
                }
                let mut out: Vec<Form> = Vec::new();
                for f in list {
                    let existing = base.and_then(|b| {
                        f.id.and_then(|id| b.form(id))
                            .or_else(|| {
                                f.category
                                    .as_ref()
                                    .and_then(|c| b.forms.iter().find(|x| x.id == category_id(c)))
                            })
                            .or_else(|| {
                                f.name
                                    .as_ref()
                                    .and_then(|n| b.forms.iter().find(|x| x.name.eq_ignore_ascii_case(n)))
                            })
                    });
                    let form = Self::build_form(f, existing, &tables, lookup_table)?;
                    if out.iter().any(|x| x.id == form.id) {
                        return Err(CoreError::Invalid(format!(
                            "Two forms use the same category ('{}'); no two forms of an attribute may",
                            form.category.clone().unwrap_or(form.name)
                        )));
                    }
                    if out.iter().any(|x| x.name.eq_ignore_ascii_case(&form.name)) {
                        return Err(CoreError::Invalid(format!("Two forms are named '{}'", form.name)));
                    }
                    out.push(form);
                }
                out
            }
            None => match base {
                Some(b) => b.forms.clone(),
                None => {
                    return Err(CoreError::MissingField(
                        "An attribute needs at least one form ('forms')".into(),
                    ))
                }
            },
        };
        if lookup_table.is_none() && forms.iter().all(|f| f.lookup_table.is_none()) {
            return Err(CoreError::MissingField(
                "A lookup table is required: give 'attributeLookupTable' or a form's 'lookupTable'".into(),
            ));
        }
        let key_form = match &spec.key_form {
            Some(r) => resolve_form(&forms, r, "key form")?,
            None => match base {
                Some(b) if forms.iter().any(|f| f.id == b.key_form) => b.key_form,
                Some(_) => {
                    return Err(CoreError::MissingField(
                        "The key form was removed from the forms; give a new 'keyForm'".into(),
                    ))
                }
                None => {
                    return Err(CoreError::MissingField(
                        "A key form is required ('keyForm')".into(),
                    ))
                }
            },
        };
        if forms.iter().any(|f| f.id == key_form && f.is_multilingual) {
            return Err(CoreError::Invalid("The key form may not be multilingual".into()));
        }
        let refs = |given: &Option<Vec<Ref>>, old: Option<&Vec<Guid>>, what: &str| -> Result<Vec<Guid>> {
            match given {
                Some(list) => list.iter().map(|r| resolve_form(&forms, r, what)).collect(),
                None => Ok(match old {
                    Some(o) => o
                        .iter()
                        .copied()
                        .filter(|id| forms.iter().any(|f| f.id == *id))
                        .collect(),
                    None => vec![key_form],
                }),
            }
        };
        let report_displays = refs(
            &spec.report_displays,
            base.map(|b| &b.report_displays),
            "report display",
        )?;
        let browse_displays = refs(
            &spec.browse_displays,
            base.map(|b| &b.browse_displays),
            "browse display",
        )?;
        let sorts = |given: &Option<Vec<SortSpec>>, old: Option<&Vec<Sort>>| -> Result<Vec<Sort>> {
            match given {
                Some(list) => list
                    .iter()
                    .map(|s| {
                        Ok(Sort {
                            form: resolve_form(&forms, &s.form, "sort form")?,
                            ascending: s.ascending,
                        })
                    })
                    .collect(),
                None => Ok(old
                    .map(|o| {
                        o.iter()
                            .filter(|s| forms.iter().any(|f| f.id == s.form))
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default()),
            }
        };
        let report_sorts = sorts(&spec.report_sorts, base.map(|b| &b.report_sorts))?;
        let browse_sorts = sorts(&spec.browse_sorts, base.map(|b| &b.browse_sorts))?;
        Ok(Attribute {
            sub_type: spec
                .sub_type
                .or_else(|| base.map(|b| b.sub_type.clone()))
                .unwrap_or_else(|| "attribute".into()),
            is_embedded: spec
                .is_embedded
                .or_else(|| base.map(|b| b.is_embedded))
                .unwrap_or(false),
            forms,
            lookup_table,
            key_form,
            report_displays,
            browse_displays,
            report_sorts,
            browse_sorts,
            relationships: base.map(|b| b.relationships.clone()).unwrap_or_default(),
        })
    }

    /// Creates an attribute in the changeset of `view`.
    pub async fn create_attribute(
        &self,
        caller: &Principal,
        view: &View,
        spec: AttributeSpec,
    ) -> Result<ModelObject> {
        caller.require(Privilege::SCHEMA_EDIT)?;
        view.changeset()?;
        let name = spec
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| {
                CoreError::MissingField("The attribute's name ('information.name') is required".into())
            })?;
        let folder = match spec.folder {
            Some(f) => f,
            None => ATTRIBUTES_FOLDER,
        };
        self.check_folder(view, folder).await?;
        let description = spec.description.clone().unwrap_or_default();
        let relationships = spec.relationships.clone();
        let attribute = self.build_attribute(view, spec, None).await?;
        let id = Guid::random();
        let now = now_ms();
        let obj = ModelObject {
            info: ObjectInfo {
                id,
                project: view.project(),
                kind: ObjectKind::Attribute,
                name,
                description,
                folder: Some(folder),
                hidden: false,
                comments: Vec::new(),
                owner: Some(caller.user.user.id),
                created_ms: now,
                modified_ms: now,
                version: Guid::random(),
                acl: None,
            },
            body: Body::Attribute(attribute),
        };
        self.check_unique(view, &obj).await?;
        let staged = self.stage(caller, view, obj).await?;
        match relationships {
            Some(rels) => self.stage_relationships(caller, view, id, &rels).await,
            None => Ok(staged),
        }
    }

    /// Replaces the relationships of the staged attribute `id` and answers it as it now is.
    async fn stage_relationships(
        &self,
        caller: &Principal,
        view: &View,
        id: Guid,
        rels: &[RelationshipSpec],
    ) -> Result<ModelObject> {
        let resolved = self.resolve_relationships(view, id, rels).await?;
        self.replace_relationships(caller, view, id, &resolved).await?;
        self.require(view, id, ObjectKind::Attribute).await
    }

    /// Changes an attribute in the changeset of `view` (merge rules in the module doc).
    pub async fn patch_attribute(
        &self,
        caller: &Principal,
        view: &View,
        id: Guid,
        spec: AttributeSpec,
    ) -> Result<ModelObject> {
        caller.require(Privilege::SCHEMA_EDIT)?;
        caller.require_object(id)?;
        view.changeset()?;
        let mut obj = self.require(view, id, ObjectKind::Attribute).await?;
        let Some(base) = obj.attribute().cloned() else {
            return Err(CoreError::NotFound(format!(
                "The attribute with id '{id}' could not be found"
            )));
        };
        if let Some(n) = &spec.name {
            if n.trim().is_empty() {
                return Err(CoreError::MissingField(
                    "The attribute's name ('information.name') must not be empty".into(),
                ));
            }
            obj.info.name = n.clone();
        }
        if let Some(d) = &spec.description {
            obj.info.description = d.clone();
        }
        if let Some(f) = spec.folder {
            self.check_folder(view, f).await?;
            obj.info.folder = Some(f);
        }
        let relationships = spec.relationships.clone();
        let attribute = self.build_attribute(view, spec, Some(&base)).await?;
        obj.body = Body::Attribute(attribute);
        self.check_unique(view, &obj).await?;
        let staged = self.stage(caller, view, obj).await?;
        match relationships {
            Some(rels) => self.stage_relationships(caller, view, id, &rels).await,
            None => Ok(staged),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_have_stable_ids() {
        assert_eq!(category_id("ID").to_hex(), ID_CATEGORY);
        assert_eq!(category_id("desc").to_hex(), DESC_CATEGORY);
        assert_eq!(category_id("Customer DESC (1)"), category_id("customer desc (1)"));
        assert_ne!(category_id("Customer DESC (1)"), category_id("Other"));
    }
}
