//! The fixed commands job kinds run (`haproxy -c`, `haproxy -vv`, `apt-get install`,
//! `journalctl`): each in its own process group, so a timeout or a cancel kills everything it
//! started (a wrapper script and its children too), never only the first process.

use std::ffi::OsStr;
use std::process::Stdio;

use fleet_core::jobs::MAX_OUTPUT_BYTES;
use rustix::process::{kill_process_group, Pid, Signal};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// Kills the process group `pid` leads when dropped (the run was cancelled or timed out while
/// the command ran), unless the command ended first.
struct Group(Option<Pid>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = kill_process_group(pid, Signal::KILL);
        }
    }
}

/// How a command ended: its exit code (`None` when killed by a signal) and its standard output
/// followed by its standard error (at most twice the output bound of each is kept).
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) exit_code: Option<i64>,
    pub(crate) output: String,
}

/// Runs `program args...` in a new process group with `env` added, stdin closed; its exit and
/// output. Dropping the future kills the whole group.
pub(crate) async fn run<I, S>(program: impl AsRef<OsStr>, args: I, env: &[(&str, &str)]) -> std::io::Result<Ran>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0).kill_on_drop(true);
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn()?;
    let mut group = Group(child.id().and_then(|id| Pid::from_raw(id as i32)));
    let keep = 2 * MAX_OUTPUT_BYTES;
    let (out, err, status) = tokio::join!(drain(child.stdout.take(), keep), drain(child.stderr.take(), keep), child.wait());
    let status = status?;
    // Ended by itself: nothing of the group to kill (its pid may be reused).
    group.0 = None;
    let mut output = String::from_utf8_lossy(&out).into_owned();
    if !err.is_empty() {
        if !output.is_empty() && !output.ends_with('\n') {
            output.push('\n');
        }
        output.push_str(&String::from_utf8_lossy(&err));
    }
    Ok(Ran { exit_code: status.code().map(i64::from), output })
}

/// Reads `pipe` to its end, keeping the first `keep` bytes: the rest is read and dropped so the
/// command never blocks on a full pipe.
async fn drain(pipe: Option<impl tokio::io::AsyncRead + Unpin>, keep: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(mut pipe) = pipe {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pipe.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if bytes.len() < keep {
                bytes.extend_from_slice(&buf[..n]);
            }
        }
    }
    bytes
}
