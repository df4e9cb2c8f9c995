//! One command over a HAProxy CLI socket (the master CLI of `-S`, or a `stats socket`): connect,
//! send the line, close the write side (non-interactive mode), read the answer to EOF.
//! Also the parser of the master's `show proc`, which reload verification reads.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

/// Sends `command` and returns HAProxy's whole answer.
pub(crate) async fn send(socket: &Path, command: &str, timeout: Duration) -> std::io::Result<String> {
    let exchange = async {
        let mut stream = UnixStream::connect(socket).await?;
        stream.write_all(command.as_bytes()).await?;
        stream.write_all(b"\n").await?;
        stream.shutdown().await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer to {command:?} from {}", socket.display())))?
}

/// What the master says about its processes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Procs {
    pub(crate) master_pid: u32,
    /// Reloads of the master so far.
    pub(crate) reloads: u64,
    /// Failed reloads so far.
    pub(crate) failed: u64,
    /// The current workers' pids (old workers excluded).
    pub(crate) workers: Vec<u32>,
}

/// Parses `show proc` (management.txt §9.4.1):
/// ```text
/// #<PID>          <type>          <reloads>       <uptime>        <version>
/// 16985           master          2 [failed: 1]   0d00h10m12s     2.6.12
/// # workers
/// 3296            worker          1               0d00h00m04s     2.6.12
/// # old workers
/// ```
pub(crate) fn parse_show_proc(answer: &str) -> Option<Procs> {
    let mut procs = Procs::default();
    let mut section = "";
    let mut saw_master = false;
    for line in answer.lines() {
        let line = line.trim();
        if let Some(title) = line.strip_prefix('#') {
            section = if title.trim().starts_with('<') { "" } else { title.trim() };
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(pid), Some(kind)) = (fields.next(), fields.next()) else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        match (section, kind) {
            ("", "master") => {
                saw_master = true;
                procs.master_pid = pid;
                procs.reloads = fields.next().and_then(|r| r.parse().ok()).unwrap_or(0);
                if fields.next() == Some("[failed:") {
                    procs.failed = fields.next().and_then(|f| f.trim_end_matches(']').parse().ok()).unwrap_or(0);
                }
            }
            ("workers", "worker") => procs.workers.push(pid),
            _ => {}
        }
    }
    saw_master.then_some(procs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn show_proc_is_parsed() {
        let answer = "#<PID>          <type>          <reloads>       <uptime>        <version>      \n\
            16985           master          2 [failed: 1]   0d00h10m12s     2.6.12-1+deb12u4\n\
            # workers\n\
            3296            worker          1               0d00h00m04s     2.6.12-1+deb12u4\n\
            # old workers\n\
            1233            worker          3               0d00h00m43s     2.6.12\n\
            # programs\n\n";
        let procs = parse_show_proc(answer).unwrap();
        assert_eq!(procs, Procs { master_pid: 16985, reloads: 2, failed: 1, workers: vec![3296] });
        assert_eq!(parse_show_proc("Unknown command.\n"), None);
    }
}
