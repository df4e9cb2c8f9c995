//! Event-driven HAProxy health for keepalived (`--keepalived`, process mode): the agent runs
//! HAProxy's master, so it learns of its death at once, and writes the track file keepalived
//! watches (`vrrp_track_file`, inotify) in the same instant.
//!
//! ```text
//! ProcessDriver publishes the master's pid (start, adopt) or None (stop)
//!   -> pidfd_open(pid): readable when that process exits (a zombie counts as dead)
//!   -> track file `1` (keepalived puts the instance in FAULT: the address moves now, not after
//!      a polling script's next run), supervision woken to restart HAProxy
//!   -> a master running again -> track file `0`
//! ```
//!
//! Network namespaces share one process list, so health is this agent's own master, followed
//! by pid; never a process name (`pidof haproxy` sees every node's HAProxy).

use std::sync::Arc;

use rustix::event::{poll, PollFd, PollFlags};
use rustix::process::{pidfd_open, Pid, PidfdFlags};
use tokio::sync::{watch, Notify};

use crate::keepalived::Keepalived;

/// Resolves when process `pid` exits; at once when it does not exist (or cannot be watched,
/// which is treated as gone: the supervision then looks again). A pidfd polls readable when its
/// process exits (pidfd_open(2)); the wait runs on a blocking thread (registering the fd with
/// tokio's reactor needs `unsafe`), which ends with that process.
pub(crate) async fn exited(pid: u32) {
    let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else { return };
    let Ok(fd) = pidfd_open(pid, PidfdFlags::empty()) else { return };
    let _ = tokio::task::spawn_blocking(move || loop {
        let mut fds = [PollFd::new(&fd, PollFlags::IN)];
        match poll(&mut fds, None) {
            Err(rustix::io::Errno::INTR) => continue,
            _ => return,
        }
    })
    .await;
}

/// Follows HAProxy's master (its pid from `masters`) forever, writing its health to
/// keepalived's track file and waking `supervise` when it dies.
pub(crate) async fn follow_haproxy(mut masters: watch::Receiver<Option<u32>>, keepalived: Arc<Keepalived>, supervise: Arc<Notify>) {
    loop {
        let pid = *masters.borrow_and_update();
        match pid {
            Some(pid) => {
                keepalived.write_track(true);
                tokio::select! {
                    () = exited(pid) => {
                        keepalived.write_track(false);
                        tracing::warn!(pid, "the haproxy master exited: keepalived told at once");
                        supervise.notify_one();
                        if masters.changed().await.is_err() {
                            return;
                        }
                    }
                    changed = masters.changed() => if changed.is_err() { return },
                }
            }
            None => {
                keepalived.write_track(false);
                if masters.changed().await.is_err() {
                    return;
                }
            }
        }
    }
}
