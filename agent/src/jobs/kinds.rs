//! What each job kind does on the node: fixed code, no command from the server.

use std::fmt::Write as _;
use std::path::Path;

use fleet_core::bundle::tar::{read_tar, write_tar};
use fleet_core::bundle::tree::pack_tree;
use fleet_core::bundle::{BundleFile, BundlePath, FileKind};
use fleet_core::jobs::{AgentJob, JobSpec, DIAGNOSTICS_LOG_LINES};

use super::command::{self, Ran};
use super::{Ended, Jobs};
use crate::driver::Driver;

/// Runs `job`'s kind (the node policy was checked); dropping the future stops it.
pub(super) async fn execute(jobs: &Jobs, job: &AgentJob) -> Ended {
    match &job.spec {
        JobSpec::Validate => validate(jobs).await,
        JobSpec::Reload => match jobs.driver.lock().await.reload().await {
            Ok(()) => Ended::ok("reloaded: the new worker runs the configuration on disk"),
            Err(message) => Ended::failed(format!("reload failed: {message}")),
        },
        JobSpec::Restart => match jobs.driver.lock().await.restart().await {
            Ok(()) => Ended::ok("restarted: haproxy runs the configuration on disk"),
            Err(message) => Ended::failed(format!("restart failed: {message}")),
        },
        JobSpec::Diagnostics => diagnostics(jobs).await,
        JobSpec::Snapshot => snapshot(jobs, job.id).await,
        JobSpec::Restore { snapshot } => restore(jobs, *snapshot).await,
        JobSpec::InstallHaproxy { version } => install_haproxy(version.as_deref()).await,
        JobSpec::UpgradeAgent { version } => upgrade_agent(jobs, job.id, version).await,
    }
}

/// `upgrade-agent`: on success this process becomes the new binary (execve) and the result is
/// posted by it after its first accepted heartbeat, or by the previous binary after a rollback
/// (`crate::upgrade`). Holds the driver's lock, so no apply is cut by the swap.
async fn upgrade_agent(jobs: &Jobs, job_id: i64, version: &str) -> Ended {
    let Some((pin, trial)) = jobs.upgrade.clone() else { return Ended::failed("this agent does not upgrade itself") };
    let _driver = jobs.driver.lock().await;
    let upgrade = crate::upgrade::Upgrade { client: &jobs.client, pin, state_dir: &jobs.pipeline.state, trial, job: Some(job_id) };
    match upgrade.run(version).await {
        Ok(message) => Ended::ok(message),
        Err(error) => Ended::failed(error.to_string()),
    }
}

fn ran(ran: std::io::Result<Ran>, what: &str) -> Ended {
    match ran {
        Ok(ran) => Ended {
            status: if ran.exit_code == Some(0) { fleet_core::jobs::JobStatus::Succeeded } else { fleet_core::jobs::JobStatus::Failed },
            output: ran.output,
            exit_code: ran.exit_code,
        },
        Err(error) => Ended::failed(format!("cannot run {what}: {error}")),
    }
}

/// `haproxy -c` on what runs: the running release's config files (the agent's own first in
/// process mode), from the managed directory, as HAProxy loads them.
async fn validate(jobs: &Jobs) -> Ended {
    let _driver = jobs.driver.lock().await;
    let load = jobs.pipeline.load_list(jobs.pipeline.running_manifest().as_ref());
    let mut args = vec!["-c".to_string()];
    if let Some(dir) = &load.dir {
        args.extend(["-C".to_string(), dir.display().to_string()]);
    }
    for config in &load.configs {
        args.extend(["-f".to_string(), config.display().to_string()]);
    }
    let bin = jobs.pipeline.haproxy_bin.clone();
    ran(command::run(&bin, &args, &[]).await, &format!("{} -c", bin.display()))
}

/// `haproxy -vv`, `show info`, `show errors`, `show sess` counts, the last lines of HAProxy's
/// log, disk and memory: one report, each part under its heading; a part that cannot be read
/// says why instead.
async fn diagnostics(jobs: &Jobs) -> Ended {
    let mut out = String::new();
    let bin = &jobs.pipeline.haproxy_bin;
    let version = command::run(bin, ["-vv"], &[]).await;
    let _ = writeln!(out, "== haproxy -vv");
    match version {
        Ok(ran) => out.push_str(&ran.output),
        Err(error) => {
            let _ = writeln!(out, "cannot run {}: {error}", bin.display());
        }
    }
    let driver = jobs.driver.lock().await;
    for command in ["show info", "show errors"] {
        let _ = writeln!(out, "\n== {command}");
        match driver.runtime(command).await {
            Ok(answer) => out.push_str(&answer),
            Err(error) => {
                let _ = writeln!(out, "runtime api unavailable: {error}");
            }
        }
    }
    let _ = writeln!(out, "\n== show sess");
    match driver.runtime("show sess").await {
        Ok(answer) => {
            let sessions = answer.lines().filter(|l| l.starts_with("0x")).count();
            let _ = writeln!(out, "sessions: {sessions}");
        }
        Err(error) => {
            let _ = writeln!(out, "runtime api unavailable: {error}");
        }
    }
    let _ = writeln!(out, "\n== haproxy log (last {DIAGNOSTICS_LOG_LINES} lines)");
    out.push_str(&log_tail(&driver).await);
    drop(driver);
    let managed = jobs.pipeline.managed(None);
    let _ = writeln!(out, "\n== disk ({})", managed.display());
    match rustix::fs::statvfs(&managed) {
        Ok(fs) => {
            let block = fs.f_frsize;
            let _ = writeln!(
                out,
                "total_bytes: {}\navailable_bytes: {}\nfree_inodes: {}",
                fs.f_blocks * block,
                fs.f_bavail * block,
                fs.f_favail
            );
        }
        Err(error) => {
            let _ = writeln!(out, "cannot statvfs: {error}");
        }
    }
    let _ = writeln!(out, "\n== memory");
    match std::fs::read_to_string("/proc/meminfo") {
        Ok(info) => {
            for line in info.lines().filter(|l| ["MemTotal:", "MemAvailable:", "SwapTotal:", "SwapFree:"].iter().any(|k| l.starts_with(k))) {
                let _ = writeln!(out, "{line}");
            }
        }
        Err(error) => {
            let _ = writeln!(out, "cannot read /proc/meminfo: {error}");
        }
    }
    Ended::ok(out)
}

/// The last lines of HAProxy's log: `<state>/haproxy.log` in process mode, the unit's journal
/// in systemd mode.
async fn log_tail(driver: &Driver) -> String {
    match driver {
        Driver::Process(d) => match std::fs::read(d.log_path()) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let lines: Vec<&str> = text.lines().collect();
                let start = lines.len().saturating_sub(DIAGNOSTICS_LOG_LINES);
                let mut tail = lines[start..].join("\n");
                tail.push('\n');
                tail
            }
            Err(error) => format!("cannot read {}: {error}\n", d.log_path().display()),
        },
        Driver::Systemd(d) => {
            let lines = DIAGNOSTICS_LOG_LINES.to_string();
            match command::run("journalctl", ["-u", d.unit(), "-n", &lines, "--no-pager", "-o", "short-iso"], &[]).await {
                Ok(ran) => ran.output,
                Err(error) => format!("cannot run journalctl: {error}\n"),
            }
        }
    }
}

/// The config files of what runs, relative to the managed directory, comma-separated (the
/// upload's `configs`).
fn running_configs(jobs: &Jobs, managed: &Path) -> String {
    match jobs.pipeline.running_manifest() {
        Some(manifest) => manifest.configs().iter().map(|p| p.as_str().to_string()).collect::<Vec<_>>().join(","),
        None => jobs
            .pipeline
            .config
            .strip_prefix(managed)
            .ok()
            .and_then(Path::to_str)
            .unwrap_or("haproxy.cfg")
            .to_string(),
    }
}

/// Uploads the managed tree (every file under the managed directory, managed or not) and,
/// with `--keepalived`, keepalived.conf as `keepalived/<agent>.conf`.
async fn snapshot(jobs: &Jobs, job_id: i64) -> Ended {
    let managed = jobs.pipeline.managed(None);
    let configs = running_configs(jobs, &managed);
    let dir = managed.clone();
    let packed = match tokio::task::spawn_blocking(move || pack_tree(&dir)).await {
        Ok(Ok(tree)) => tree,
        Ok(Err(error)) => return Ended::failed(format!("cannot pack {}: {error}", managed.display())),
        Err(error) => return Ended::failed(format!("cannot pack {}: {error}", managed.display())),
    };
    let mut archive = packed.archive;
    let mut note = String::new();
    if let (Some(keepalived), Some(name)) = (&jobs.pipeline.keepalived, &jobs.name) {
        let path = &keepalived.settings.config;
        match std::fs::read(path) {
            Ok(content) => {
                let config_paths: Vec<BundlePath> = configs.split(',').filter_map(|c| BundlePath::new(c).ok()).collect();
                let file = BundlePath::new(&format!("keepalived/{name}.conf")).map(|p| BundleFile::new(p, FileKind::Keepalived, content));
                let joined = read_tar(&archive, &config_paths)
                    .map_err(|e| e.to_string())
                    .and_then(|bundle| bundle.with_file(file.map_err(|e| e.to_string())?).map_err(|e| e.to_string()))
                    .and_then(|bundle| write_tar(bundle.files(), 0).map_err(|e| e.to_string()));
                match joined {
                    Ok(joined) => {
                        archive = joined;
                        let _ = writeln!(note, "with {} as keepalived/{name}.conf", path.display());
                    }
                    Err(error) => return Ended::failed(format!("cannot add {} to the snapshot: {error}", path.display())),
                }
            }
            Err(error) => {
                let _ = writeln!(note, "without keepalived.conf: cannot read {}: {error}", path.display());
            }
        }
    }
    if !packed.skipped.is_empty() {
        let _ = writeln!(note, "skipped (neither files, folders nor links): {}", packed.skipped.join(", "));
    }
    match jobs.client.snapshot_upload(job_id, archive, &configs).await {
        Ok(snapshot) => Ended::ok(format!(
            "snapshot {} of {}: {} files, {} bytes, digest {}\n{note}",
            snapshot.id,
            managed.display(),
            snapshot.files.len(),
            snapshot.size,
            snapshot.digest
        )),
        Err(error) => Ended::failed(format!("the server refused the snapshot: {error}")),
    }
}

/// Applies snapshot `id` through the pipeline: verified download, node policy, `haproxy -c`,
/// atomic switch, reload, back to the previous release when the reload fails.
async fn restore(jobs: &Jobs, id: i64) -> Ended {
    let state = match jobs.client.snapshot(id).await {
        Ok(state) => state,
        Err(error) => return Ended::failed(format!("cannot fetch snapshot {id}: {error}")),
    };
    let mut driver = jobs.driver.lock().await;
    match jobs.pipeline.apply(&mut driver, &state).await {
        Ok(_) => Ended::ok(format!(
            "restored snapshot {id} (digest {}): checked by haproxy -c, switched and reloaded; \
             the cluster's next applied version replaces it",
            state.sha256
        )),
        Err(error) => {
            let detail = error.report(0).and_then(|r| r.error).unwrap_or_default();
            Ended::failed(format!("snapshot {id} not restored: {error}\n{detail}"))
        }
    }
}

/// `apt-get install -y haproxy[=version]` (non-interactive); the node runs it only when
/// `--allow-jobs` lists install-haproxy.
async fn install_haproxy(version: Option<&str>) -> Ended {
    let package = match version {
        Some(version) => format!("haproxy={version}"),
        None => "haproxy".to_string(),
    };
    let args = ["install", "-y", "--no-install-recommends", package.as_str()];
    ran(command::run("apt-get", args, &[("DEBIAN_FRONTEND", "noninteractive")]).await, "apt-get install")
}
