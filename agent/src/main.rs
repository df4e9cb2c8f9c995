//! `fleet-agent`: runs on every HAProxy node and keeps it on its cluster's desired configuration.
//!
//! ```text
//! args (cli) -> token (enrol once with the secret, then <state>/token, mode 0600)
//!   -> --adopt: the managed tree uploaded as the cluster's first version when it has none
//!   -> driver (process: HAProxy master-worker run by the agent | systemd)
//!   -> agent loop: long-poll desired -> pipeline (stage a release, runtime API or haproxy -c,
//!      switch the managed directory's symlink, reload, verify, switch back) -> report
//!   -> side loop: heartbeat (facts + runtime summary), supervision, runtime actions
//!   -> upgrade (signed release, swap, re-exec) and its trial: rolled back without a heartbeat
//! ```
//! The binary is thin: argument errors exit 64 before anything starts.

mod adopt;
mod agent;
mod cli;
mod client;
mod driver;
mod drift;
mod facts;
mod jobs;
mod keepalived;
mod mcli;
mod pin;
mod pipeline;
mod probe;
mod process;
mod systemd;
mod token;
mod track;
mod upgrade;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = match cli::Args::try_parse() {
        Ok(args) => args,
        Err(error) => {
            let code = if error.use_stderr() { 64 } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    agent::run(args)
}
