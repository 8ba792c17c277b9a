//! The changeset JSON of spec §4.1: a changeset as the API writes it, and the body of its commit.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use vestibule_core::clock::rfc3339_ms;
use vestibule_core::model::types::Changeset;

use super::wire::LOCALE;

/// A changeset.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChangesetJson {
    pub id: String,
    pub date_created: String,
    pub date_modified: String,
    /// `Ready` or `Committed`.
    pub status: &'static str,
    pub schema_edit: bool,
    pub mstr_project_id: String,
    pub mstr_user_id: String,
    pub user_date_number_locale: &'static str,
    pub user_metadata_locale: &'static str,
    pub user_warehouse_locale: &'static str,
    pub user_name: String,
}

impl ChangesetJson {
    pub fn of(cs: &Changeset, user_name: &str) -> ChangesetJson {
        ChangesetJson {
            id: cs.id.to_hex(),
            date_created: rfc3339_ms(cs.created_ms),
            date_modified: rfc3339_ms(cs.modified_ms),
            status: cs.status.as_str(),
            schema_edit: cs.schema_edit,
            mstr_project_id: cs.project.to_hex(),
            mstr_user_id: cs.user.to_hex(),
            user_date_number_locale: LOCALE,
            user_metadata_locale: LOCALE,
            user_warehouse_locale: LOCALE,
            user_name: user_name.to_owned(),
        }
    }
}

/// The body of a commit (mstrio-py sends `{}` or `{"changeJournal": {"userComments": …}}`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CommitBody {
    /// The comment for the change journal entry of the commit.
    pub change_journal: Option<super::wire::ChangeJournalIn>,
}
