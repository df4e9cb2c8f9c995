//! `fleet completions SHELL` (clap_complete) and `fleet manpages DIR` (clap_mangen): both
//! generated from the same argument definitions as the parser, so they cannot drift from it.

use std::path::PathBuf;

use clap::CommandFactory;

use super::ClientError;

/// `fleet completions`.
#[derive(Debug, clap::Args)]
pub(crate) struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// `fleet manpages`.
#[derive(Debug, clap::Args)]
pub(crate) struct ManpagesArgs {
    /// The folder to write `fleet.1`, `fleet-config.1`, `fleet-cluster-ls.1` ... into.
    dir: PathBuf,
}

/// Prints the completion script for a shell.
pub(crate) fn completions(args: &CompletionsArgs) -> Result<(), ClientError> {
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(args.shell, &mut command, "fleet", &mut std::io::stdout());
    Ok(())
}

/// Writes a man page for `fleet` and one for each subcommand, nested ones included.
pub(crate) fn manpages(args: &ManpagesArgs) -> Result<(), ClientError> {
    std::fs::create_dir_all(&args.dir).map_err(|source| ClientError::Io { path: args.dir.display().to_string(), source })?;
    let command = crate::cli::Cli::command();
    clap_mangen::generate_to(command, &args.dir).map_err(|source| ClientError::Io { path: args.dir.display().to_string(), source })?;
    let written = std::fs::read_dir(&args.dir).map(|d| d.count()).unwrap_or(0);
    println!("wrote {written} man pages into {}", args.dir.display());
    Ok(())
}
