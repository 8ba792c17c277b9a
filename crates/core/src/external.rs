//! Logging in through an external directory (LDAP): once the provider has checked the password
//! (guard.rs drives it), the user is linked into vestibule's directory on first login and its
//! mapped groups are refreshed on every login.

use crate::core::Core;
use crate::directory::{User, UserSource};
use crate::error::{CoreError, Result};
use crate::login_name::normalize;
use crate::provider::ExternalIdentity;

impl Core {
    /// The vestibule user for a directory identity: made on first login, updated after.
    pub(crate) async fn link_external_user(&self, id: &ExternalIdentity) -> Result<User> {
        let dir = &self.directory;
        // Recorded in its normal form, the form logins look names up in.
        let username = normalize(&id.username);
        let username = username.as_ref();
        let existing = dir.user_by_name(username).await?;
        let mut user = match existing {
            Some(u) => u,
            None => match dir
                .add_user(username, &id.full_name, None, UserSource::Ldap)
                .await
            {
                Ok(u) => u,
                // A concurrent first login made it.
                Err(CoreError::AlreadyExists(_)) => dir.require_user(username).await?,
                Err(CoreError::Invalid(m)) => {
                    tracing::warn!(reason = %m, "directory user name cannot be used here");
                    return Err(CoreError::BadCredentials);
                }
                Err(e) => return Err(e),
            },
        };
        if user.source != UserSource::Ldap {
            // A local user of the same name must not be taken over through the directory.
            tracing::warn!(user = %user.username, "LDAP login refused: a non-LDAP user has this name");
            return Err(CoreError::BadCredentials);
        }
        if !user.enabled {
            return Err(CoreError::BadCredentials);
        }
        let full_name = if id.full_name.is_empty() {
            user.full_name.clone()
        } else {
            id.full_name.clone()
        };
        if user.full_name != full_name || user.email != id.email {
            user.full_name = full_name;
            user.email = id.email.clone();
            dir.update_user(&user).await?;
        }
        for group in &id.managed_groups {
            if dir.store().group_by_name(group).await?.is_none() {
                match dir.add_group(group, "Mapped from the LDAP directory.").await {
                    Ok(_) | Err(CoreError::AlreadyExists(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            let member = id.groups.iter().any(|g| g.eq_ignore_ascii_case(group));
            dir.set_membership(group, &user.username, member).await?;
        }
        Ok(user)
    }
}
