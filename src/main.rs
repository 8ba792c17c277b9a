//! The `vestibule` binary: parses the command line, loads the configuration and runs a command.
//! Every failure ends in one line on standard error and a non-zero exit.
#![forbid(unsafe_code)]

mod args;
mod backup;
mod commands;
mod config_file;
mod healthcheck;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use vestibule_core::config::Config;

use crate::args::{Cli, Command};

/// mimalloc instead of the system allocator: the request path allocates small, short-lived buffers
/// on every request, and the session map holds a million small entries (see docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.use_stderr() {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // One line: clap's message up to its usage (which is noise here), joined, so that a
            // list such as the missing arguments stays in it; tips are left out.
            let text = e.render().to_string();
            let parts: Vec<&str> = text
                .lines()
                .take_while(|l| !l.starts_with("Usage:"))
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
                .collect();
            let joined = parts.join(" ");
            let message = joined.trim_start_matches("error: ");
            let message = if message.is_empty() {
                "invalid arguments"
            } else {
                message
            };
            eprintln!("vestibule: {message} (see 'vestibule --help')");
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<serve::Reported>() => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("vestibule: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration: defaults ← file ← environment ← flags.
fn load_config(cli: &Cli, file: Option<&std::path::Path>) -> anyhow::Result<Config> {
    let mut config = config_file::load(file.or(cli.global.config.as_deref()), std::env::vars())?;
    if let Some(dir) = &cli.global.data_dir {
        config.data_dir = dir.clone();
    }
    if let Command::Serve { listen: Some(listen) } = &cli.command {
        config.listen = listen.clone();
    }
    config.validate()?;
    Ok(config)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::CheckConfig { file } = &cli.command {
        // Each problem on its own line; the last one is the command's error.
        let mut problems =
            config_file::check(file.as_deref().or(cli.global.config.as_deref()), std::env::vars());
        if let Some(last) = problems.pop() {
            for p in &problems {
                eprintln!("vestibule: {p}");
            }
            return Err(last.into());
        }
        let config = load_config(&cli, file.as_deref())?;
        println!(
            "configuration is valid (listen {}, data in {})",
            config.listen,
            config.data_dir.display()
        );
        return Ok(());
    }
    if let Command::Healthcheck { url, timeout_secs } = &cli.command {
        let url = match url {
            Some(u) => u.clone(),
            None => healthcheck::default_url_of(&load_config(&cli, None)?)?,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        return runtime.block_on(healthcheck::run(
            &url,
            std::time::Duration::from_secs(*timeout_secs),
        ));
    }
    if let Command::Backup { to } = &cli.command {
        let config = load_config(&cli, None)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        return runtime.block_on(backup::run(&config, to));
    }
    let config = load_config(&cli, None)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Command::Serve { .. } => serve::run(config).await,
            other => commands::run(config, other).await,
        }
    })
}
