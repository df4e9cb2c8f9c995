//! Remote jobs and snapshots on both databases: runs per agent, delivery once, cancel,
//! results, giving up, audit; snapshots stored, diffed, promoted through the import gate.

use std::time::Duration;

use fleet_core::bundle::{Bundle, BundleFile, BundlePath, FileKind};
use fleet_core::jobs::{JobResult, JobSpec, JobStatus, QUEUE_TTL_MS, REPORT_GRACE_MS};
use fleet_core::{Actor, AuditFilter, ClusterSettings, Error, Role};

use crate::support::Harness;

crate::store_tests!(jobs_reach_their_agents_once_and_report, cancel_timeouts_and_refusals, snapshots_diff_promote_and_restore_jobs);

async fn cluster(h: &Harness, name: &str) -> i64 {
    let pool = h.store.create_pool("alice", &format!("{name}-pool"), "").await.unwrap();
    h.store.create_cluster("alice", name, pool.id, ClusterSettings::default()).await.unwrap().id
}

async fn agent(h: &Harness, cluster: i64, name: &str) -> i64 {
    let (_, secret) = h.store.create_enrolment("alice", cluster, name, vec![], 60_000).await.unwrap();
    h.store.enrol(&secret, None, "host", serde_json::json!({})).await.unwrap().0.id
}

fn done(status: JobStatus, output: &str) -> JobResult {
    JobResult { status, output: output.into(), exit_code: Some(0), duration_ms: 12 }
}

async fn jobs_reach_their_agents_once_and_report(h: Harness) {
    let s = &h.store;
    let id = cluster(&h, "jobs").await;
    let a1 = agent(&h, id, "n1").await;
    let a2 = agent(&h, id, "n2").await;
    let job = s.create_job("alice", id, JobSpec::Diagnostics, None, None).await.unwrap();
    assert_eq!((job.status, job.runs.len(), job.timeout_ms), (JobStatus::Queued, 2, 120_000));
    assert_eq!(job.runs.iter().map(|r| r.agent.as_str()).collect::<Vec<_>>(), ["n1", "n2"]);
    // Only n2.
    let only = s.create_job("alice", id, JobSpec::Reload, Some(&["n2".to_string()]), Some(5)).await.unwrap();
    assert_eq!((only.runs.len(), only.timeout_ms), (1, 5_000));

    // A waiting long-poll gets it at once; the next poll gets nothing (taken once).
    let poll = s.wait_jobs(a1, Duration::from_secs(5)).await.unwrap().unwrap();
    assert_eq!(poll.start.iter().map(|j| (j.id, j.spec.clone())).collect::<Vec<_>>(), [(job.id, JobSpec::Diagnostics)]);
    assert!(s.wait_jobs(a1, Duration::from_millis(300)).await.unwrap().is_none());
    // A job queued while an agent waits wakes it.
    let waiter = {
        let s = s.clone();
        tokio::spawn(async move { s.wait_jobs(a1, Duration::from_secs(10)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    let validate = s.create_job("alice", id, JobSpec::Validate, Some(&["n1".to_string()]), None).await.unwrap();
    let woke = tokio::time::timeout(Duration::from_secs(2), waiter).await.unwrap().unwrap().unwrap().unwrap();
    assert_eq!(woke.start[0].id, validate.id);
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());

    h.clock.advance(40);
    let agent1 = fleet_core::AgentPrincipal::from(&s.agent(a1).await.unwrap());
    let run = s.finish_job_run(&agent1, job.id, &done(JobStatus::Succeeded, "ok")).await.unwrap();
    assert_eq!((run.status, run.duration_ms, run.output.as_str()), (JobStatus::Succeeded, Some(12), "ok"));
    // Once only.
    assert!(matches!(s.finish_job_run(&agent1, job.id, &done(JobStatus::Failed, "late")).await, Err(Error::Conflict(_))));
    assert!(matches!(s.finish_job_run(&agent1, job.id, &done(JobStatus::Running, "")).await, Err(Error::Invalid { .. })));
    let job = s.job(id, job.id).await.unwrap();
    assert_eq!(job.status, JobStatus::Running, "n2 has not taken it");
    let polled = s.take_jobs(a2).await.unwrap();
    assert_eq!(polled.start.len(), 2);
    let agent2 = fleet_core::AgentPrincipal::from(&s.agent(a2).await.unwrap());
    let long = "x".repeat(100_000);
    s.finish_job_run(&agent2, job.id, &done(JobStatus::Failed, &long)).await.unwrap();
    let job = s.job(id, job.id).await.unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.runs[1].output.len() <= fleet_core::jobs::MAX_OUTPUT_BYTES && job.runs[1].output.contains("[output truncated"));
    let listed = s.jobs(id, 10).await.unwrap();
    assert_eq!(listed.len(), 3);
    let audit = s.audit_entries(&AuditFilter { cluster_id: Some(id), action: Some("job.".into()), limit: 100, ..Default::default() }).await.unwrap();
    assert_eq!(audit.iter().filter(|e| e.action == "job.create").count(), 3);
    assert_eq!(audit.iter().filter(|e| e.action == "job.finish").count(), 2);
}

async fn cancel_timeouts_and_refusals(h: Harness) {
    let s = &h.store;
    let id = cluster(&h, "jc").await;
    let other = cluster(&h, "jc2").await;
    let empty = cluster(&h, "jc3").await;
    let a1 = agent(&h, id, "n1").await;
    let a2 = agent(&h, id, "n2").await;
    agent(&h, other, "x").await;
    assert!(matches!(s.create_job("alice", empty, JobSpec::Reload, None, None).await, Err(Error::Invalid { .. })));
    assert!(matches!(s.create_job("alice", id, JobSpec::Reload, Some(&["nope".into()]), None).await, Err(Error::Invalid { .. })));
    assert!(matches!(s.create_job("alice", id, JobSpec::Reload, None, Some(0)).await, Err(Error::Invalid { .. })));
    assert!(matches!(s.create_job("alice", id, JobSpec::Reload, None, Some(3601)).await, Err(Error::Invalid { .. })));
    let bad = JobSpec::InstallHaproxy { version: Some("--reinstall".into()) };
    assert!(matches!(s.create_job("alice", id, bad, None, None).await, Err(Error::Invalid { .. })));
    assert!(matches!(s.create_job("alice", id, JobSpec::Restore { snapshot: 42 }, None, None).await, Err(Error::NotFound(_))));
    assert!(matches!(s.create_job("alice", 12345, JobSpec::Reload, None, None).await, Err(Error::NotFound(_))));

    // n1 takes it, n2 does not: cancel ends n2's at once and tells n1 once.
    let job = s.create_job("alice", id, JobSpec::Validate, None, None).await.unwrap();
    assert_eq!(s.take_jobs(a1).await.unwrap().start.len(), 1);
    let cancelled = s.cancel_job("bob", id, job.id).await.unwrap();
    let by_agent = |j: &fleet_core::jobs::Job, name: &str| j.runs.iter().find(|r| r.agent == name).unwrap().status;
    assert_eq!((by_agent(&cancelled, "n1"), by_agent(&cancelled, "n2")), (JobStatus::Running, JobStatus::Cancelled));
    assert!(cancelled.cancel_requested_at.is_some());
    let poll = s.wait_jobs(a1, Duration::from_secs(2)).await.unwrap().unwrap();
    assert_eq!((poll.start.len(), poll.cancel.clone()), (0, vec![job.id]));
    assert!(s.take_jobs(a1).await.unwrap().is_empty(), "a cancel is sent once");
    assert!(s.take_jobs(a2).await.unwrap().is_empty());
    let a1_agent = fleet_core::AgentPrincipal::from(&s.agent(a1).await.unwrap());
    s.finish_job_run(&a1_agent, job.id, &done(JobStatus::Cancelled, "stopped")).await.unwrap();
    assert_eq!(s.job(id, job.id).await.unwrap().status, JobStatus::Cancelled);
    assert!(matches!(s.cancel_job("bob", other, job.id).await, Err(Error::NotFound(_))));
    assert!(matches!(s.job(other, job.id).await, Err(Error::NotFound(_))));
    // A foreign agent cannot report on it.
    let x = fleet_core::AgentPrincipal::from(&s.agents(other).await.unwrap().remove(0));
    assert!(matches!(s.finish_job_run(&x, job.id, &done(JobStatus::Succeeded, "")).await, Err(Error::NotFound(_))));

    // Nobody reports: running runs time out after timeout + grace, queued ones fail after the TTL.
    let slow = s.create_job("alice", id, JobSpec::Reload, None, Some(10)).await.unwrap();
    s.take_jobs(a1).await.unwrap();
    h.clock.advance(10_000 + REPORT_GRACE_MS + 1);
    let job = s.job(id, slow.id).await.unwrap();
    assert_eq!(by_agent(&job, "n1"), JobStatus::TimedOut);
    assert_eq!(by_agent(&job, "n2"), JobStatus::Queued);
    h.clock.advance(QUEUE_TTL_MS);
    let job = s.job(id, slow.id).await.unwrap();
    assert_eq!((by_agent(&job, "n2"), job.status), (JobStatus::Failed, JobStatus::TimedOut));
    assert!(job.runs[1].output.contains("did not take the job"), "{}", job.runs[1].output);
    assert!(s.take_jobs(a2).await.unwrap().is_empty(), "a given-up run is not delivered");
    let audit = s.audit_entries(&AuditFilter { cluster_id: Some(id), action: Some("job.cancel".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!((audit.len(), audit[0].actor.as_str()), (1, "bob"));
}

fn bundle(server: &str) -> Bundle {
    let cfg = format!("defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n\nbackend app\n    server s1 {server}:80\n");
    Bundle::new(vec![
        BundleFile::new(BundlePath::new("haproxy.cfg").unwrap(), FileKind::Config, cfg.into_bytes()),
        BundleFile::new(BundlePath::new("notes.txt").unwrap(), FileKind::Other, b"left by an operator\n".to_vec()),
    ])
    .unwrap()
}

async fn snapshots_diff_promote_and_restore_jobs(h: Harness) {
    let s = &h.store;
    let id = cluster(&h, "snap").await;
    let other = cluster(&h, "snap2").await;
    let a1 = agent(&h, id, "n1").await;
    agent(&h, id, "n2").await;
    let admin = Actor::new("alice", Role::Admin);
    s.import_bundle(admin, id, &bundle("10.0.0.1"), "v1").await.unwrap();
    s.apply("alice", id, 1).await.unwrap();

    let job = s.create_job("alice", id, JobSpec::Snapshot, Some(&["n1".to_string()]), None).await.unwrap();
    let n1 = s.agent(a1).await.unwrap();
    // Only while its snapshot run runs.
    assert!(matches!(s.record_snapshot(&fleet_core::AgentPrincipal::from(&n1), job.id, &bundle("10.0.0.9")).await, Err(Error::NotFound(_))));
    s.take_jobs(a1).await.unwrap();
    let snapshot = s.record_snapshot(&fleet_core::AgentPrincipal::from(&n1), job.id, &bundle("10.0.0.9")).await.unwrap();
    assert_eq!((snapshot.agent.as_str(), snapshot.files.len(), snapshot.job_id), ("n1", 2, Some(job.id)));
    assert_eq!(s.snapshot_bundle(id, snapshot.id).await.unwrap(), bundle("10.0.0.9"));
    assert_eq!(s.snapshots(id, Some("n1")).await.unwrap().len(), 1);
    assert!(s.snapshots(id, Some("n2")).await.unwrap().is_empty());
    assert!(matches!(s.snapshot(other, snapshot.id).await, Err(Error::NotFound(_))));

    let diff = s.snapshot_diff(id, snapshot.id).await.unwrap();
    assert!(diff.config.unified.contains("-    server s1 10.0.0.1:80") && diff.config.unified.contains("+    server s1 10.0.0.9:80"), "{}", diff.config.unified);
    assert_eq!(diff.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), ["haproxy.cfg"], "notes.txt is the same on both");

    // A restore job of n1's snapshot onto n2; not across clusters.
    let restore = s.create_job("alice", id, JobSpec::Restore { snapshot: snapshot.id }, Some(&["n2".to_string()]), None).await.unwrap();
    assert_eq!(restore.spec, JobSpec::Restore { snapshot: snapshot.id });
    agent(&h, other, "y").await;
    assert!(matches!(s.create_job("alice", other, JobSpec::Restore { snapshot: snapshot.id }, None, None).await, Err(Error::NotFound(_))));

    let promoted = s.promote_snapshot(admin, id, snapshot.id, "").await.unwrap();
    assert_eq!(promoted.version.number, 2);
    assert_eq!(s.bundle(id, 2).await.unwrap(), bundle("10.0.0.9"));
    let audit = s.audit_entries(&AuditFilter { cluster_id: Some(id), action: Some("snapshot.".into()), limit: 10, ..Default::default() }).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"snapshot.create") && actions.contains(&"snapshot.promote"), "{actions:?}");
}
