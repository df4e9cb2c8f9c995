//! `fleet`: the HAProxy Fleet server and its offline configuration tools.
//!
//! ```text
//! fleet config ...      -> cli::config      (HAProxy files: parse, fmt, check, diff)
//! fleet keepalived ...  -> cli::keepalived  (keepalived.conf: parse, fmt, check)
//! fleet serve ...       -> cli::serve -> http (axum API over fleet-core), errors (one JSON mapping)
//! fleet login|pool|cluster|apply|config pull ... -> cli::client (a thin client of the JSON API)
//! ```

mod cli;
mod dataplane;
mod errors;
mod http;
mod ui;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc rather than glibc's malloc (see Cargo.toml): measured at 10,000 agents.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    cli::run(args)
}
