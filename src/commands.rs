//! The administration commands: users, groups, projects, privileges and migrations. They work on
//! the configured store directly, so they also work while a server runs on it.

use std::io::BufRead;

use anyhow::{anyhow, bail, Context};

use vestibule_core::config::Config;
use vestibule_core::directory::UserSource;
use vestibule_core::privilege::Privilege;

use serde_json::{json, Value};

use crate::args::{Command, GroupCommand, ProjectCommand, TableCommand, TrustedAuthCommand, UserCommand};

/// Prints a list command's JSON array, one document on one line.
fn print_json(items: Vec<Value>) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(&Value::Array(items))?);
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        bail!("no password on standard input");
    }
    Ok(password)
}

fn parse_privileges(names: &[String]) -> anyhow::Result<Vec<Privilege>> {
    names
        .iter()
        .map(|n| {
            Privilege::parse(n).ok_or_else(|| anyhow!("unknown privilege '{n}' (see 'vestibule privileges')"))
        })
        .collect()
}

/// A project by name (case-insensitive) or id.
async fn find_project(
    dir: &vestibule_core::directory::Directory,
    project: &str,
) -> anyhow::Result<vestibule_core::directory::Project> {
    dir.projects()
        .await?
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case(project) || p.id.to_hex().eq_ignore_ascii_case(project))
        .ok_or_else(|| anyhow!("no project named '{project}'"))
}

pub async fn run(config: Config, command: Command) -> anyhow::Result<()> {
    let core = crate::serve::open_core(config, vestibule_store::Opener::Tool).await?;
    let dir = &core.directory();
    match command {
        Command::Serve { .. }
        | Command::CheckConfig { .. }
        | Command::Healthcheck { .. }
        | Command::Backup { .. } => {
            unreachable!("handled in main")
        }
        Command::Migrate => println!("store is up to date"),
        Command::TrustedAuth(cmd) => {
            use vestibule_core::trusted::KeyChange;
            let change = match cmd {
                TrustedAuthCommand::Enable => core.enable_trusted_auth().await?,
                TrustedAuthCommand::Rotate => core.rotate_trusted_key().await?,
                TrustedAuthCommand::Disable => core.disable_trusted_auth().await?,
            };
            match change {
                KeyChange::NewKey(key) => {
                    println!("trusted authentication is enabled; the secret key (shown only now) is:");
                    println!("{key}");
                }
                KeyChange::Disabled => println!("trusted authentication is disabled"),
            }
        }
        Command::Privileges { output } if output.json => print_json(
            Privilege::ALL
                .iter()
                .map(|p| json!({"id": p.id, "key": p.key, "name": p.name}))
                .collect(),
        )?,
        Command::Privileges { .. } => {
            for p in Privilege::ALL {
                println!("{:>3}  {:<28} {}", p.id, p.key, p.name);
            }
        }
        Command::User(UserCommand::Add {
            name,
            full_name,
            password_stdin,
        }) => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let user = dir
                .add_user(&name, &full_name, password.as_deref(), UserSource::Local)
                .await?;
            println!("added user '{}' ({})", user.username, user.id);
        }
        Command::User(UserCommand::List { output }) if output.json => print_json(
            dir.list_users()
                .await?
                .into_iter()
                .map(|u| {
                    json!({
                        "id": u.id.to_string(),
                        "name": u.username,
                        "full_name": u.full_name,
                        "source": u.source.as_str(),
                        "enabled": u.enabled,
                    })
                })
                .collect(),
        )?,
        Command::User(UserCommand::List { .. }) => {
            for u in dir.list_users().await? {
                println!(
                    "{}  {:<24} {:<8} {:<8} {}",
                    u.id,
                    u.username,
                    u.source.as_str(),
                    if u.enabled { "enabled" } else { "disabled" },
                    u.full_name
                );
            }
        }
        Command::User(UserCommand::Disable { name }) => {
            let user = dir.set_enabled(&name, false).await?;
            let ended = core.end_sessions_of(user.id).await?;
            println!(
                "disabled user '{}' and ended {ended} session(s) in the store",
                user.username
            );
        }
        Command::User(UserCommand::Delete { name }) => {
            let (user, ended) = core.delete_user(&name).await?;
            println!(
                "deleted user '{}' and ended {ended} session(s) in the store",
                user.username
            );
        }
        Command::User(UserCommand::Unlock { name }) => {
            if core.unlock_account(&name).await? {
                println!("unlocked '{name}'");
            } else {
                println!("'{name}' was not locked");
            }
        }
        Command::User(UserCommand::Enable { name }) => {
            let user = dir.set_enabled(&name, true).await?;
            println!("enabled user '{}'", user.username);
        }
        Command::User(UserCommand::Passwd { name, .. }) => {
            let password = read_password()?;
            let user = dir.set_password(&name, &password).await?;
            println!("changed the password of '{}'", user.username);
        }
        Command::User(UserCommand::Grant { name, privileges }) => {
            let user = dir.require_user(&name).await?;
            dir.grant(user.id, &parse_privileges(&privileges)?, true).await?;
            println!("granted {} to '{}'", privileges.join(", "), user.username);
        }
        Command::User(UserCommand::Revoke { name, privileges }) => {
            let user = dir.require_user(&name).await?;
            dir.grant(user.id, &parse_privileges(&privileges)?, false).await?;
            println!("revoked {} from '{}'", privileges.join(", "), user.username);
        }
        Command::Group(GroupCommand::Add { name, description }) => {
            let g = dir.add_group(&name, &description).await?;
            println!("added group '{}' ({})", g.name, g.id);
        }
        Command::Group(GroupCommand::List { output }) => {
            let users = dir.list_users().await?;
            let mut items = Vec::new();
            for g in dir.list_groups().await? {
                let members = dir.store().members_of(g.id).await?;
                let names: Vec<&str> = users
                    .iter()
                    .filter(|u| members.contains(&u.id))
                    .map(|u| u.username.as_str())
                    .collect();
                let privs: Vec<&str> = dir
                    .store()
                    .privileges_of(g.id)
                    .await?
                    .into_iter()
                    .filter_map(Privilege::by_id)
                    .map(|p| p.key)
                    .collect();
                if output.json {
                    items.push(json!({
                        "id": g.id.to_string(),
                        "name": g.name,
                        "description": g.description,
                        "members": names,
                        "privileges": privs,
                    }));
                    continue;
                }
                println!(
                    "{}  {}\n    members: {}\n    privileges: {}",
                    g.id,
                    g.name,
                    names.join(", "),
                    privs.join(", ")
                );
            }
            if output.json {
                print_json(items)?;
            }
        }
        Command::Group(GroupCommand::Delete { name }) => {
            let g = dir.delete_group(&name).await?;
            println!("deleted group '{}' and its memberships", g.name);
        }
        Command::Group(GroupCommand::AddMember { group, users }) => {
            for u in &users {
                dir.set_membership(&group, u, true).await?;
            }
            println!("added {} to '{group}'", users.join(", "));
        }
        Command::Group(GroupCommand::RemoveMember { group, users }) => {
            for u in &users {
                dir.set_membership(&group, u, false).await?;
            }
            println!("removed {} from '{group}'", users.join(", "));
        }
        Command::Group(GroupCommand::Grant { group, privileges }) => {
            let g = dir.require_group(&group).await?;
            dir.grant(g.id, &parse_privileges(&privileges)?, true).await?;
            println!("granted {} to group '{}'", privileges.join(", "), g.name);
        }
        Command::Group(GroupCommand::Revoke { group, privileges }) => {
            let g = dir.require_group(&group).await?;
            dir.grant(g.id, &parse_privileges(&privileges)?, false).await?;
            println!("revoked {} from group '{}'", privileges.join(", "), g.name);
        }
        Command::Project(ProjectCommand::Add { name, description }) => {
            let p = dir.add_project(&name, &description).await?;
            core.model()?.ensure_project(&p).await?;
            println!("added project '{}' ({})", p.name, p.id);
        }
        Command::Project(ProjectCommand::List { output }) if output.json => print_json(
            dir.projects()
                .await?
                .into_iter()
                .map(|p| json!({"id": p.id.to_string(), "name": p.name, "description": p.description}))
                .collect(),
        )?,
        Command::Project(ProjectCommand::List { .. }) => {
            for p in dir.projects().await? {
                println!("{}  {}", p.id, p.name);
            }
        }
        Command::Project(ProjectCommand::Delete { name, force }) => {
            let p = find_project(dir, &name).await?;
            let objects = core.model()?.delete_project(&p, force).await?;
            println!("deleted project '{}' and its {objects} model object(s)", p.name);
        }
        Command::Project(ProjectCommand::Folders { project, output }) => {
            let p = find_project(dir, &project).await?;
            let model = core.model()?;
            let view = vestibule_core::model::View::Committed(p.id);
            let folders = model
                .list(&view, Some(vestibule_core::model::types::ObjectKind::Folder))
                .await?;
            let mut lines = Vec::new();
            for f in &folders {
                let mut path: Vec<String> = model
                    .ancestors(&view, f)
                    .await?
                    .into_iter()
                    .map(|a| a.info.name)
                    .collect();
                path.push(f.info.name.clone());
                lines.push((f.info.id.to_string(), format!("/{}", path.join("/"))));
            }
            lines.sort_by(|a, b| a.1.cmp(&b.1));
            if output.json {
                print_json(
                    lines
                        .into_iter()
                        .map(|(id, path)| json!({"id": id, "path": path}))
                        .collect(),
                )?;
            } else {
                for (id, path) in lines {
                    println!("{id}  {path}");
                }
            }
        }
        Command::Table(TableCommand::Add {
            project,
            name,
            columns,
            physical_name,
        }) => {
            let p = find_project(dir, &project).await?;
            let mut specs = Vec::new();
            for c in &columns {
                let (col, ty) = c
                    .split_once(':')
                    .ok_or_else(|| anyhow!("--column '{c}': expected NAME:TYPE, e.g. SUBCAT_ID:integer"))?;
                specs.push(vestibule_core::model::spec::ColumnSpec {
                    name: col.trim().to_owned(),
                    data_type: vestibule_core::model::types::DataType::of(&ty.trim().to_lowercase()),
                });
            }
            let spec = vestibule_core::model::spec::TableSpec::normal(&name, physical_name, specs);
            let view = vestibule_core::model::View::Committed(p.id);
            let t = core.model()?.create_table(&view, None, spec).await?.table;
            println!(
                "added table '{}' ({}) to project '{}'",
                t.info.name, t.info.id, p.name
            );
        }
    }
    Ok(())
}
