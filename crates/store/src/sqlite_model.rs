//! The model store of the embedded SQLite file (see [`crate::model_sql`] for the queries).

use crate::model_sql::same;
use crate::sqlite::SqliteStore;

crate::impl_model_store!(SqliteStore, same, None::<&str>);
