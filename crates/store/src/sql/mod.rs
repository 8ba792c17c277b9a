//! The SQL both SQL backends share: the directory ([`metadata`]), the model ([`model`]), the
//! upgrade of its older documents ([`upgrade`]) and its change journal ([`journal`]), each written
//! once with `?` placeholders and instantiated per backend by a macro, and what those queries have
//! in common: placeholder rewriting and the mapping of sqlx errors.

use std::borrow::Cow;

use vestibule_core::error::StoreError;

pub mod journal;
pub mod metadata;
pub mod model;
pub mod upgrade;

/// `?` placeholders as PostgreSQL's `$n` (no query here has a `?` inside a string literal).
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// `?` placeholders as SQLite takes them.
pub fn same(sql: &str) -> Cow<'_, str> {
    Cow::Borrowed(sql)
}

/// Maps a sqlx error to the store's error: connection trouble is "unavailable" (503), a unique
/// violation is a duplicate, the rest is internal.
pub fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Duplicate(db.message().to_owned())
        }
        // SQLite's primary result codes: busy or locked (another process holds the file past the busy timeout), read-only, I/O
        // error, disk full, cannot open: the file is there but not usable right now.
        sqlx::Error::Database(db)
            if db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 8 | 10 | 13 | 14)) =>
        {
            StoreError::Unavailable(db.message().to_owned())
        }
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Tls(_) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Other(e.to_string()),
    }
}
