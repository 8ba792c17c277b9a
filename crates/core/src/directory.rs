//! The directory: users, groups, privileges and projects, over a [`MetadataStore`].
//!
//! Session checks read users on every request, so a user with its effective privileges is cached
//! for a short time; writes through this service drop the cached copy at once, and the short TTL
//! bounds how long another node's change takes to be seen.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::clock::now_ms;
use crate::error::{CoreError, Result};
use crate::ids::Guid;
use crate::password::PasswordHasher;
use crate::privilege::Privilege;
use crate::store::MetadataStore;

pub use crate::accounts::{
    ApiToken, Group, Project, User, UserInfo, UserSource, ADMIN_GROUP, ADMIN_USER, EVERYONE_GROUP, GUEST_USER,
};

const CACHE_TTL: Duration = Duration::from_secs(2);

pub struct Directory {
    store: Arc<dyn MetadataStore>,
    hasher: PasswordHasher,
    cache: RwLock<HashMap<Guid, (Instant, Arc<UserInfo>)>>,
    /// Enabled users by the name asked for, for [`Directory::user_by_name_cached`].
    by_name: RwLock<HashMap<String, (Instant, User)>>,
}

/// Checks a user or group name: printable, trimmed, not empty, not too long.
pub fn check_name(kind: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(CoreError::Invalid(format!("{kind} name must not be empty")));
    }
    if name.trim() != name {
        return Err(CoreError::Invalid(format!(
            "{kind} name must not start or end with spaces"
        )));
    }
    if name.chars().count() > 250 {
        return Err(CoreError::Invalid(format!(
            "{kind} name is longer than 250 characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(CoreError::Invalid(format!(
            "{kind} name must not contain control characters"
        )));
    }
    Ok(())
}

impl Directory {
    /// A read through the metadata store (readiness).
    pub(crate) async fn ping(&self) -> crate::store::StoreResult<()> {
        self.store.ping().await
    }

    pub fn new(store: Arc<dyn MetadataStore>, hasher: PasswordHasher) -> Self {
        Directory {
            store,
            hasher,
            cache: RwLock::new(HashMap::new()),
            by_name: RwLock::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Arc<dyn MetadataStore> {
        &self.store
    }

    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// The user with its effective privileges; cached briefly because every request asks.
    pub async fn user_info(&self, id: Guid) -> Result<Arc<UserInfo>> {
        if let Ok(cache) = self.cache.read() {
            if let Some((at, info)) = cache.get(&id) {
                // A cached "disabled" is always re-read: acting on it ends sessions, and the user
                // may have been enabled again since.
                if at.elapsed() < CACHE_TTL && info.user.enabled {
                    return Ok(info.clone());
                }
            }
        }
        let user = self
            .store
            .user_by_id(id)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("user {id} not found")))?;
        let mut privileges: Vec<Privilege> = self
            .store
            .effective_privileges(id)
            .await?
            .into_iter()
            .filter_map(Privilege::by_id)
            .collect();
        privileges.sort();
        privileges.dedup();
        let groups = self
            .store
            .groups_of(id)
            .await?
            .into_iter()
            .map(|g| g.id)
            .collect();
        let info = Arc::new(UserInfo::new(user, privileges).with_groups(groups));
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(id, (Instant::now(), info.clone()));
        }
        Ok(info)
    }

    fn forget(&self, id: Guid) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(&id);
        }
        // Renames change the key, and writes are rare: drop every name.
        if let Ok(mut by_name) = self.by_name.write() {
            by_name.clear();
        }
    }

    fn forget_all(&self) {
        if let Ok(mut cache) = self.cache.write() {
            cache.clear();
        }
        if let Ok(mut by_name) = self.by_name.write() {
            by_name.clear();
        }
    }

    pub async fn user_by_name(&self, name: &str) -> Result<Option<User>> {
        Ok(self.store.user_by_name(name).await?)
    }

    /// The user by name, from a copy at most [`CACHE_TTL`] old when the user was enabled then.
    /// For trusted-authentication mints, which need no password and come at thousands per second
    /// (the TypeScript SDK mints before every call): the same bound session checks already allow
    /// for seeing a disable made on another node or by the CLI. Unknown and disabled users are
    /// always read afresh, so a new or re-enabled user is seen at once.
    pub async fn user_by_name_cached(&self, name: &str) -> Result<Option<User>> {
        if let Ok(by_name) = self.by_name.read() {
            if let Some((at, user)) = by_name.get(name) {
                if at.elapsed() < CACHE_TTL {
                    return Ok(Some(user.clone()));
                }
            }
        }
        let user = self.store.user_by_name(name).await?;
        if let Some(u) = user.as_ref().filter(|u| u.enabled) {
            if let Ok(mut by_name) = self.by_name.write() {
                // Bounded: names asked for but gone stale are dropped before the map grows large.
                if by_name.len() >= 10_000 {
                    by_name.retain(|_, (at, _)| at.elapsed() < CACHE_TTL);
                    if by_name.len() >= 10_000 {
                        by_name.clear();
                    }
                }
                by_name.insert(name.to_owned(), (Instant::now(), u.clone()));
            }
        }
        Ok(user)
    }

    pub async fn require_user(&self, name: &str) -> Result<User> {
        self.user_by_name(name)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no user named '{name}'")))
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        Ok(self.store.list_users().await?)
    }

    /// Adds a user. With a password it can log in with loginMode 1; without, only through other
    /// modes (LDAP, trusted authentication, delegation).
    pub async fn add_user(
        &self,
        username: &str,
        full_name: &str,
        password: Option<&str>,
        source: UserSource,
    ) -> Result<User> {
        check_name("user", username)?;
        let normal = crate::login_name::normalize(username);
        if normal != username {
            return Err(CoreError::Invalid(format!(
                "user name must be written in its normal form '{normal}' (Unicode NFKC, single spaces): logins look names up in that form"
            )));
        }
        if let Some(p) = password {
            check_password(p)?;
        }
        if self.store.user_by_name(username).await?.is_some() {
            return Err(CoreError::AlreadyExists(format!(
                "a user named '{username}' already exists"
            )));
        }
        let password_hash = match password {
            Some(p) => Some(self.hasher.hash(p).await?),
            None => None,
        };
        let now = now_ms();
        let user = User {
            id: Guid::random(),
            username: username.to_owned(),
            full_name: if full_name.is_empty() {
                username.to_owned()
            } else {
                full_name.to_owned()
            },
            email: String::new(),
            enabled: true,
            source,
            password_hash,
            created_ms: now,
            modified_ms: now,
        };
        self.store.create_user(&user).await?;
        if let Some(everyone) = self.store.group_by_name(EVERYONE_GROUP).await? {
            self.store.set_membership(everyone.id, user.id, true).await?;
        }
        Ok(user)
    }

    pub async fn update_user(&self, user: &User) -> Result<()> {
        let mut user = user.clone();
        user.modified_ms = now_ms();
        self.store.update_user(&user).await?;
        self.forget(user.id);
        Ok(())
    }

    pub async fn set_password(&self, username: &str, password: &str) -> Result<User> {
        check_password(password)?;
        let mut user = self.require_user(username).await?;
        if user.source != UserSource::Local {
            return Err(CoreError::Invalid(format!(
                "'{username}' is a {} user; its password is not kept here",
                user.source.kind()
            )));
        }
        user.password_hash = Some(self.hasher.hash(password).await?);
        self.update_user(&user).await?;
        Ok(user)
    }

    pub async fn set_enabled(&self, username: &str, enabled: bool) -> Result<User> {
        let mut user = self.require_user(username).await?;
        user.enabled = enabled;
        self.update_user(&user).await?;
        Ok(user)
    }

    /// Deletes a user with its memberships, privileges, API tokens and access properties (its
    /// sessions are the caller's to end: [`crate::core::Core::delete_user`]).
    /// The built-in users (the administrator and the guest) are refused: the first start made
    /// them, and logins and the first start's checks look them up by name.
    pub async fn delete_user(&self, username: &str) -> Result<User> {
        let user = self.require_user(username).await?;
        if user.source == UserSource::Builtin || user.username.eq_ignore_ascii_case(ADMIN_USER) {
            return Err(CoreError::Invalid(format!(
                "'{}' is a built-in user and cannot be deleted (disable it instead: vestibule user disable)",
                user.username
            )));
        }
        if !self.store.delete_user(user.id).await? {
            return Err(CoreError::NotFound(format!("no user named '{username}'")));
        }
        self.forget(user.id);
        Ok(user)
    }

    /// Deletes a group with its memberships and privileges.
    /// The built-in groups are refused: they carry every user's and the administrators'
    /// privileges.
    pub async fn delete_group(&self, name: &str) -> Result<Group> {
        let group = self.require_group(name).await?;
        if [EVERYONE_GROUP, ADMIN_GROUP]
            .iter()
            .any(|b| group.name.eq_ignore_ascii_case(b))
        {
            return Err(CoreError::Invalid(format!(
                "'{}' is a built-in group and cannot be deleted (revoke its privileges instead)",
                group.name
            )));
        }
        if !self.store.delete_group(group.id).await? {
            return Err(CoreError::NotFound(format!("no group named '{name}'")));
        }
        // Its members' privileges change.
        self.forget_all();
        Ok(group)
    }

    pub async fn grant(&self, holder: Guid, privileges: &[Privilege], granted: bool) -> Result<()> {
        let ids: Vec<u32> = privileges.iter().map(|p| p.id).collect();
        self.store.set_privileges(holder, &ids, granted).await?;
        // A group grant reaches every member, so drop every cached user.
        self.forget_all();
        Ok(())
    }

    pub async fn add_group(&self, name: &str, description: &str) -> Result<Group> {
        check_name("group", name)?;
        if self.store.group_by_name(name).await?.is_some() {
            return Err(CoreError::AlreadyExists(format!(
                "a group named '{name}' already exists"
            )));
        }
        let group = Group {
            id: Guid::random(),
            name: name.to_owned(),
            description: description.to_owned(),
            created_ms: now_ms(),
        };
        self.store.create_group(&group).await?;
        Ok(group)
    }

    pub async fn require_group(&self, name: &str) -> Result<Group> {
        self.store
            .group_by_name(name)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("no group named '{name}'")))
    }

    pub async fn set_membership(&self, group: &str, user: &str, member: bool) -> Result<()> {
        let g = self.require_group(group).await?;
        let u = self.require_user(user).await?;
        self.store.set_membership(g.id, u.id, member).await?;
        self.forget(u.id);
        Ok(())
    }

    pub async fn list_groups(&self) -> Result<Vec<Group>> {
        Ok(self.store.list_groups().await?)
    }

    pub async fn groups_of(&self, user: Guid) -> Result<Vec<Group>> {
        Ok(self.store.groups_of(user).await?)
    }

    pub async fn projects(&self) -> Result<Vec<crate::directory::Project>> {
        Ok(self.store.list_projects().await?)
    }

    pub async fn add_project(&self, name: &str, description: &str) -> Result<Project> {
        check_name("project", name)?;
        if self
            .store
            .list_projects()
            .await?
            .iter()
            .any(|p| p.name.eq_ignore_ascii_case(name))
        {
            return Err(CoreError::AlreadyExists(format!(
                "a project named '{name}' already exists"
            )));
        }
        let project = Project {
            id: Guid::random(),
            name: name.to_owned(),
            description: description.to_owned(),
            created_ms: now_ms(),
        };
        self.store.create_project(&project).await?;
        Ok(project)
    }

    /// Makes the built-in groups, the administrator, the guest user and the default project in an
    /// empty store. Processes starting together take turns at this (the store's start lock), but
    /// it holds without: each step takes what another process made meanwhile, and the one whose
    /// administrator is stored is the one that goes on; the others answer
    /// [`Bootstrap::AlreadyDone`], so only the creator tells a password (one generated here).
    pub async fn bootstrap(&self, admin_password: Option<&str>, default_project: &str) -> Result<Bootstrap> {
        if !self.store.list_users().await?.is_empty() {
            return Ok(Bootstrap::AlreadyDone);
        }
        let admins = self.builtin_group(ADMIN_GROUP, "Holds every privilege.").await?;
        self.grant(admins.id, Privilege::ALL, true).await?;
        let everyone = self
            .builtin_group(EVERYONE_GROUP, "Every user is a member.")
            .await?;
        self.grant(everyone.id, Privilege::DEFAULT_USER, true).await?;
        let generated = admin_password.is_none().then(crate::secret::new_opaque_token);
        let password = admin_password.or(generated.as_deref()).unwrap_or_default();
        let admin = match self
            .add_user(ADMIN_USER, "Administrator", Some(password), UserSource::Local)
            .await
        {
            Ok(admin) => admin,
            // Another process stored its administrator first and does the rest.
            Err(CoreError::AlreadyExists(_)) => return Ok(Bootstrap::AlreadyDone),
            Err(e) => return Err(e),
        };
        self.store.set_membership(admins.id, admin.id, true).await?;
        let guest = match self
            .add_user(GUEST_USER, "Guest", None, UserSource::Builtin)
            .await
        {
            Ok(guest) => guest,
            Err(CoreError::AlreadyExists(_)) => self.require_user(GUEST_USER).await?,
            Err(e) => return Err(e),
        };
        // The guest may use the API to read, and nothing else: it is not in Everyone.
        self.store.set_membership(everyone.id, guest.id, false).await?;
        self.grant(guest.id, &[Privilege::USE_REST_API, Privilege::WEB_USER], true)
            .await?;
        if self.store.list_projects().await?.is_empty() {
            self.add_project(default_project, "Made at first start.").await?;
        }
        Ok(Bootstrap::Created {
            generated_password: generated,
        })
    }

    /// The built-in group `name`, made if missing; one another process made meanwhile is read back.
    async fn builtin_group(&self, name: &str, description: &str) -> Result<Group> {
        if let Some(group) = self.store.group_by_name(name).await? {
            return Ok(group);
        }
        match self.add_group(name, description).await {
            Err(CoreError::AlreadyExists(_)) => self.require_group(name).await,
            made => made,
        }
    }
}

/// What [`Directory::bootstrap`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bootstrap {
    /// Nothing: the store was not empty, or another process created the administrator.
    AlreadyDone,
    /// This process created the administrator, with this generated password (`None`: with the
    /// password it was given).
    Created { generated_password: Option<String> },
}

/// Passwords: not empty and not absurdly long (argon2 hashes anything, but a megabyte password is
/// an attack, not a password).
pub fn check_password(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(CoreError::Invalid("password must not be empty".into()));
    }
    if password.len() > 1024 {
        return Err(CoreError::Invalid("password is longer than 1024 bytes".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(full: &str) -> User {
        User {
            id: Guid::random(),
            username: "jdoe".into(),
            full_name: full.into(),
            email: String::new(),
            enabled: true,
            source: UserSource::Local,
            password_hash: None,
            created_ms: 0,
            modified_ms: 0,
        }
    }

    #[test]
    fn initials_take_two_words() {
        assert_eq!(user("Jane Mary Doe").initials(), "JM");
        assert_eq!(user("administrator").initials(), "A");
        assert_eq!(user("").initials(), "J");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("user", "ok name").is_ok());
        assert!(check_name("user", "").is_err());
        assert!(check_name("user", " x").is_err());
        assert!(check_name("user", "a\u{0}b").is_err());
    }
}
