//! `fleet keepalived parse|fmt|check`.

use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {}

pub(crate) fn run(command: Command) -> ExitCode {
    match command {}
}
