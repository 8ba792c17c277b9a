//! The privilege catalogue: stable ids and names, granted to users directly or through groups.
//!
//! Ids never change once published: clients and stored grants refer to them by number.

/// One privilege of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Privilege {
    /// Stable numeric id, shown on the MicroStrategy wire as a string.
    pub id: u32,
    /// Stable upper-case key, used on the command line and on the ThoughtSpot wire.
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

macro_rules! catalogue {
    ($($konst:ident = $id:literal, $key:literal, $name:literal, $desc:literal;)*) => {
        impl Privilege {
            $(pub const $konst: Privilege = Privilege { id: $id, key: $key, name: $name, description: $desc };)*
            /// Every privilege, in id order.
            pub const ALL: &'static [Privilege] = &[$(Privilege::$konst),*];
        }
    };
}

catalogue! {
    USE_REST_API = 1, "USE_REST_API", "Use REST API", "Use the REST API of this server.";
    WEB_USER = 2, "WEB_USER", "Web user", "Browse and view the objects of a project.";
    CREATE_APPLICATION_OBJECTS = 3, "CREATE_APPLICATION_OBJECTS", "Create application objects",
        "This is the privilege required to create an application-level object.";
    SCHEMA_EDIT = 4, "SCHEMA_EDIT", "Create and edit schema objects",
        "Create and change tables, attributes and other schema objects through changesets.";
    USE_IDENTITY_TOKENS = 5, "USE_IDENTITY_TOKENS", "Use identity tokens",
        "Create identity tokens that hand this user's identity to another application.";
    CREATE_API_TOKENS = 6, "CREATE_API_TOKENS", "Create API tokens",
        "Create API tokens for logging in with login mode 4096.";
    ADMINISTRATION = 7, "ADMINISTRATION", "Administer users, groups and privileges",
        "Create and change users and groups, grant privileges and act on behalf of other users.";
    CONTROL_TRUSTED_AUTH = 8, "CONTROL_TRUSTED_AUTH", "Control trusted authentication",
        "Enable, rotate and disable the trusted-authentication secret key.";
    DATADOWNLOADING = 9, "DATADOWNLOADING", "Download data", "Download data from the server.";
    USERDATAUPLOADING = 10, "USERDATAUPLOADING", "Upload user data", "Upload data files.";
    DEVELOPER = 11, "DEVELOPER", "Developer", "Use the developer tools and embedding APIs.";
    AUDIT_CHANGE_JOURNAL = 12, "AUDIT_CHANGE_JOURNAL", "Audit change journal",
        "Read the change journal: who changed which object of the model, when and why.";
}

impl Privilege {
    pub fn by_id(id: u32) -> Option<Privilege> {
        Privilege::ALL.iter().copied().find(|p| p.id == id)
    }

    /// Looks a privilege up by its key (case-insensitive), its name, or its id.
    pub fn parse(s: &str) -> Option<Privilege> {
        let s = s.trim();
        Privilege::ALL
            .iter()
            .copied()
            .find(|p| p.key.eq_ignore_ascii_case(s) || p.name.eq_ignore_ascii_case(s))
            .or_else(|| s.parse().ok().and_then(Privilege::by_id))
    }

    /// What every user gets through the Everyone group: use the API, read, and hand its own
    /// identity on (identity and API tokens).
    pub const DEFAULT_USER: &'static [Privilege] = &[
        Privilege::USE_REST_API,
        Privilege::WEB_USER,
        Privilege::USE_IDENTITY_TOKENS,
        Privilege::CREATE_API_TOKENS,
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_keys_are_unique() {
        let mut ids: Vec<u32> = Privilege::ALL.iter().map(|p| p.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), Privilege::ALL.len());
        let mut keys: Vec<&str> = Privilege::ALL.iter().map(|p| p.key).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), Privilege::ALL.len());
        assert_eq!(Privilege::parse("schema_edit"), Some(Privilege::SCHEMA_EDIT));
        assert_eq!(Privilege::parse("7"), Some(Privilege::ADMINISTRATION));
        assert_eq!(Privilege::parse("nope"), None);
    }
}
