//! The command line: `serve`, `user …`, `group …`, `project …`, `check-config`, `migrate`,
//! `healthcheck`, `backup`. Every list command takes `--json` (an array of objects, field names
//! in docs/operations.md).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "vestibule",
    version,
    about = "An analytics REST server speaking the MicroStrategy and ThoughtSpot auth, session and modeling APIs"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Configuration file (TOML); also VESTIBULE_CONFIG.
    #[arg(long, global = true, env = "VESTIBULE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory of the embedded store (overrides the configuration).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Address and port to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free one).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage projects.
    #[command(subcommand)]
    Project(ProjectCommand),
    /// Manage logical tables of a project's model.
    #[command(subcommand)]
    Table(TableCommand),
    /// List the privilege catalogue.
    Privileges {
        #[command(flatten)]
        output: Output,
    },
    /// Check a configuration file (and the environment) and explain each error in one line.
    CheckConfig {
        /// The file to check; defaults to --config.
        file: Option<PathBuf>,
    },
    /// Create or bring up to date the store's schema, then exit.
    Migrate,
    /// Ask a running server's /health/ready: exit 0 when it is ready, 1 when not (for container
    /// health checks).
    Healthcheck {
        /// The URL to ask; defaults to http://<listen>/health/ready from the configuration.
        #[arg(long)]
        url: Option<String>,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout_secs: u64,
    },
    /// Copy the embedded store, consistently, while the server runs (PostgreSQL: use pg_dump).
    Backup {
        /// The file to write; it must not exist.
        #[arg(long)]
        to: PathBuf,
    },
    /// ThoughtSpot trusted authentication: enable it, rotate or disable its secret key.
    #[command(subcommand)]
    TrustedAuth(TrustedAuthCommand),
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user.
    Add {
        name: String,
        #[arg(long, default_value = "")]
        full_name: String,
        /// Read the password from standard input (one line). Without it the user has no password
        /// and can log in only by delegation, API token or trusted authentication.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Delete a user: its sessions end, and its memberships, privileges and API tokens go.
    Delete { name: String },
    /// Disable a user: it can no longer log in, and its sessions end.
    Disable { name: String },
    /// Enable a disabled user.
    Enable { name: String },
    /// End a user's lockout after too many failed logins (the name as typed at login).
    Unlock { name: String },
    /// Set a user's password, read from standard input.
    Passwd {
        name: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Grant privileges (by key, name or id) to a user.
    Grant {
        name: String,
        #[arg(required = true)]
        privileges: Vec<String>,
    },
    /// Revoke privileges held directly by a user.
    Revoke {
        name: String,
        #[arg(required = true)]
        privileges: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// Add a group.
    Add {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List groups with their members and privileges.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Delete a group with its memberships and privileges (its members stay).
    Delete { name: String },
    /// Add users to a group.
    AddMember {
        group: String,
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Remove users from a group.
    RemoveMember {
        group: String,
        #[arg(required = true)]
        users: Vec<String>,
    },
    /// Grant privileges to a group.
    Grant {
        group: String,
        #[arg(required = true)]
        privileges: Vec<String>,
    },
    /// Revoke privileges from a group.
    Revoke {
        group: String,
        #[arg(required = true)]
        privileges: Vec<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProjectCommand {
    /// Add a project.
    Add {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// List projects.
    List {
        #[command(flatten)]
        output: Output,
    },
    /// Delete a project; refused while it holds model objects, unless --force.
    Delete {
        /// The project's name or id.
        name: String,
        /// Delete its model objects (tables, attributes, folders, changesets) with it.
        #[arg(long)]
        force: bool,
    },
    /// Print a project's folders, one `ID  /path` a line.
    Folders {
        project: String,
        #[command(flatten)]
        output: Output,
    },
}

#[derive(Subcommand, Debug)]
pub enum TrustedAuthCommand {
    /// Turn trusted authentication on and print the new secret key (shown only this once).
    Enable,
    /// Replace the secret key and print the new one; the old key stops working at once.
    Rotate,
    /// Turn trusted authentication off: the key and every v1 trusted token stop working.
    Disable,
}

#[derive(Subcommand, Debug)]
pub enum TableCommand {
    /// Add a logical table to a project (committed at once, outside any changeset).
    Add {
        /// The project's name or id.
        project: String,
        /// The table's name (also its warehouse table name unless --physical-name is given).
        name: String,
        /// A column as NAME:TYPE (types: integer, double, n_var_char, date, …); repeat for each.
        #[arg(long = "column", required = true)]
        columns: Vec<String>,
        #[arg(long)]
        physical_name: Option<String>,
    },
}

/// How a list command prints.
#[derive(Args, Debug, Clone, Copy)]
pub struct Output {
    /// Print a JSON array of objects instead of text.
    #[arg(long)]
    pub json: bool,
}
