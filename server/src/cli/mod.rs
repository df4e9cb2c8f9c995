//! Command-line interface: argument parsing and dispatch. Exit codes: 0 fine, 1 problems found
//! (or, for client commands, the server refused or a rollout failed), 2 usage or I/O error.
//! The offline tools (`config parse|fmt|check|diff`, `keepalived`) and `serve` work on files and
//! a database; the client commands ([`client`]) talk to a server over its JSON API.

mod backup;
pub(crate) mod client;
mod config;
mod demo;
mod error;
mod input;
mod keepalived;
mod alerts;
mod limits;
mod release;
mod secrets;
mod serve;
mod tls;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// HAProxy Fleet: manage HAProxy configuration for many nodes.
#[derive(Debug, Parser)]
#[command(name = "fleet", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
enum Command {
    /// Offline tools for HAProxy configuration files.
    #[command(subcommand)]
    Config(config::Command),
    /// Offline tools for Keepalived configuration files.
    #[command(subcommand)]
    Keepalived(keepalived::Command),
    /// Serve the HTTP API (and the agents) until SIGTERM or SIGINT.
    Serve(serve::Args),
    /// The server's master key and the secrets it seals.
    #[command(subcommand)]
    Secrets(secrets::Command),
    /// Signed agent releases: the signing key, signatures, what the server offers.
    #[command(subcommand)]
    Release(release::Command),
    /// Server backups: create (while `fleet serve` runs, or through the API) and restore.
    #[command(subcommand)]
    Backup(backup::Command),
    /// The client commands: login, pool, cluster, apply --wait ... (they talk to a server).
    #[command(flatten)]
    Client(client::Command),
}

pub(crate) fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Config(command) => config::run(command),
        Command::Keepalived(command) => keepalived::run(command),
        Command::Serve(args) => serve::run(args),
        Command::Secrets(command) => secrets::run(command),
        Command::Release(command) => release::run(command),
        Command::Backup(command) => backup::run(command),
        Command::Client(command) => client::run(command),
    }
}
