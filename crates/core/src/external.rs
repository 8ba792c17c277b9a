//! Logging in through an external directory (LDAP): the provider checks the password, then the
//! user is linked into vestibule's directory on first login and its mapped groups are refreshed
//! on every login.

use crate::core::Core;
use crate::directory::{User, UserSource};
use crate::error::{CoreError, Result};
use crate::provider::{ExternalAuthError, ExternalIdentity};

impl Core {
    pub(crate) async fn external_login(&self, username: &str, password: &str) -> Result<User> {
        let Some(provider) = &self.external else {
            return Err(CoreError::LoginModeDisabled(
                "This server is not configured to support LDAP authentication.".into(),
            ));
        };
        // Never hand an empty password to a directory: many treat it as an anonymous bind.
        if username.is_empty() || username.len() > 1024 || password.is_empty() || password.len() > 1024 {
            return Err(CoreError::BadCredentials);
        }
        let identity = match provider.authenticate(username, password).await {
            Ok(i) => i,
            Err(ExternalAuthError::BadCredentials) => return Err(CoreError::BadCredentials),
            Err(ExternalAuthError::Unavailable(m)) => return Err(CoreError::Unavailable(m)),
        };
        self.link_external_user(&identity).await
    }

    /// The vestibule user for a directory identity: made on first login, updated after.
    async fn link_external_user(&self, id: &ExternalIdentity) -> Result<User> {
        let dir = &self.directory;
        let existing = dir.user_by_name(&id.username).await?;
        let mut user = match existing {
            Some(u) => u,
            None => match dir
                .add_user(&id.username, &id.full_name, None, UserSource::Ldap)
                .await
            {
                Ok(u) => u,
                // A concurrent first login made it.
                Err(CoreError::AlreadyExists(_)) => dir.require_user(&id.username).await?,
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
