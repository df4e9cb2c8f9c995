//! Schedules in the store (both databases) with the test clock: `*/1 * * * *` with two server
//! replicas ticking concurrently runs exactly once per minute; concurrency `forbid` skips a
//! time while the previous run runs and `allow` does not; after a downtime `skip` records the
//! missed times and `run_once` runs the latest once; a start whose replica stopped is failed;
//! schedules are checked (the field named), audited, disabled and deleted.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use fleet_core::schedules::engine::BoxFuture;
use fleet_core::schedules::plan::{Due, Fire};
use fleet_core::jobs::{JobResult, JobStatus};
use fleet_core::schedules::targets::Targets;
use fleet_core::schedules::{Claim, Engine, NewSchedule, Outcome, Progress, Runner, Schedule, ScheduleRun};
use fleet_core::{Error, Store};

use crate::support::{Harness, TempDir, T0};

crate::store_tests!(
    every_minute_runs_once_per_minute_across_two_replicas,
    concurrency_forbid_skips_while_the_previous_run_runs,
    missed_times_after_a_downtime_follow_the_policy,
    a_start_whose_replica_stopped_is_failed,
    schedules_are_checked_audited_disabled_and_deleted,
    real_jobs_once_per_minute_across_two_replicas_and_followed_to_their_end,
    server_backups_are_written_pruned_and_audited,
);

const MINUTE: i64 = 60_000;

/// A target that records its starts; runs end at once, or when `finish` is set.
#[derive(Default)]
struct Recorder {
    starts: Mutex<Vec<(i64, i64, String)>>,
    hold: AtomicBool,
}

impl Runner for Recorder {
    fn start<'a>(&'a self, schedule: &'a Schedule, run: &'a ScheduleRun) -> BoxFuture<'a, Result<Progress, String>> {
        Box::pin(async move {
            self.starts.lock().unwrap().push((schedule.id, run.scheduled_for, run.replica.clone()));
            let created = Some(serde_json::json!({"job_id": run.scheduled_for / MINUTE}));
            let finished = (!self.hold.load(Ordering::SeqCst)).then(|| Ok("done".to_string()));
            Ok(Progress { created, finished })
        })
    }

    fn poll<'a>(&'a self, _schedule: &'a Schedule, _run: &'a ScheduleRun) -> BoxFuture<'a, Result<Progress, String>> {
        Box::pin(async move { Ok(Progress { created: None, finished: (!self.hold.load(Ordering::SeqCst)).then(|| Ok("finished later".into())) }) })
    }
}

fn job_schedule(name: &str, cluster_id: i64, cron: &str, extra: serde_json::Value) -> NewSchedule {
    let mut value = serde_json::json!({"name": name, "cron": cron, "target": {"type": "job", "cluster_id": cluster_id, "job": {"kind": "diagnostics"}}});
    for (key, field) in extra.as_object().unwrap() {
        value[key] = field.clone();
    }
    serde_json::from_value(value).unwrap()
}

async fn cluster(store: &Store) -> i64 {
    let pool = store.create_pool("admin", "edge", "").await.unwrap();
    store.create_cluster("admin", "edge", pool.id, fleet_core::ClusterSettings::default()).await.unwrap().id
}

async fn tick_both(a: &Engine, b: &Engine) {
    let (x, y, z, w) = tokio::join!(a.tick(), b.tick(), a.tick(), b.tick());
    for report in [x, y, z, w] {
        report.unwrap();
    }
    a.settle().await;
    b.settle().await;
}

async fn every_minute_runs_once_per_minute_across_two_replicas(h: Harness) {
    let cluster = cluster(&h.store).await;
    let schedule = h.store.create_schedule("admin", &job_schedule("every minute", cluster, "*/1 * * * *", serde_json::json!({}))).await.unwrap();
    assert_eq!(schedule.next_run_at, Some(T0 + MINUTE));
    let runner = Arc::new(Recorder::default());
    let a = Engine::new(h.store.clone(), runner.clone(), "replica-a");
    let b = Engine::new(h.replica(2).await, runner.clone(), "replica-b");
    // Six simulated minutes in 5 s steps, both replicas ticking twice at every step, at once.
    for _ in 0..(6 * 12) {
        h.clock.advance(5_000);
        tick_both(&a, &b).await;
    }
    let starts = runner.starts.lock().unwrap().clone();
    let times: Vec<i64> = starts.iter().map(|s| s.1).collect();
    assert_eq!(times, (1..=6).map(|m| T0 + m * MINUTE).collect::<Vec<_>>(), "one start per minute: {starts:?}");
    let runs = h.store.schedule_runs(schedule.id, 100).await.unwrap();
    assert_eq!(runs.len(), 6, "{runs:?}");
    for (run, minute) in runs.iter().zip((1..=6).rev()) {
        assert_eq!((run.scheduled_for, run.outcome, run.catch_up), (T0 + minute * MINUTE, Outcome::Succeeded, false), "{run:?}");
        assert_eq!(run.created, Some(serde_json::json!({"job_id": T0 / MINUTE + minute})));
        assert!(run.replica == "replica-a" || run.replica == "replica-b");
        assert!(run.started_at.unwrap() - run.scheduled_for < 5_000, "started within a step of its time");
    }
    let replicas: std::collections::HashSet<_> = runs.iter().map(|r| r.replica.as_str()).collect();
    eprintln!("runs claimed by {replicas:?}");
    assert_eq!(h.store.schedule(schedule.id).await.unwrap().next_run_at, Some(T0 + 7 * MINUTE));
}

async fn concurrency_forbid_skips_while_the_previous_run_runs(h: Harness) {
    let cluster = cluster(&h.store).await;
    let forbid = h.store.create_schedule("admin", &job_schedule("forbid", cluster, "* * * * *", serde_json::json!({}))).await.unwrap();
    let allow = h.store.create_schedule("admin", &job_schedule("allow", cluster, "* * * * *", serde_json::json!({"concurrency": "allow"}))).await.unwrap();
    let runner = Arc::new(Recorder::default());
    runner.hold.store(true, Ordering::SeqCst);
    let engine = Engine::new(h.store.clone(), runner.clone(), "replica-a");
    let step = |minutes: i64| {
        h.clock.set(T0 + minutes * MINUTE + 1_000);
        let engine = engine.clone();
        async move {
            engine.tick().await.unwrap();
            engine.settle().await;
        }
    };
    step(1).await;
    step(2).await;
    let outcomes = |runs: Vec<ScheduleRun>| runs.iter().map(|r| (r.scheduled_for - T0) / MINUTE).zip(runs.iter().map(|r| r.outcome)).collect::<Vec<_>>();
    let forbid_runs = h.store.schedule_runs(forbid.id, 10).await.unwrap();
    assert_eq!(outcomes(forbid_runs.clone()), [(2, Outcome::Skipped), (1, Outcome::Running)]);
    assert!(forbid_runs[0].detail.contains("still runs (concurrency forbid)"), "{}", forbid_runs[0].detail);
    assert_eq!(forbid_runs[0].started_at, None);
    assert_eq!(outcomes(h.store.schedule_runs(allow.id, 10).await.unwrap()), [(2, Outcome::Running), (1, Outcome::Running)]);
    // The target finishes: the next tick records it, and the next time runs again.
    runner.hold.store(false, Ordering::SeqCst);
    step(3).await;
    let forbid_runs = h.store.schedule_runs(forbid.id, 10).await.unwrap();
    assert_eq!(outcomes(forbid_runs.clone()), [(3, Outcome::Succeeded), (2, Outcome::Skipped), (1, Outcome::Succeeded)]);
    assert_eq!(forbid_runs[2].detail, "finished later");
    assert!(forbid_runs[2].finished_at.is_some());
}

async fn missed_times_after_a_downtime_follow_the_policy(h: Harness) {
    let cluster = cluster(&h.store).await;
    let skip = h.store.create_schedule("admin", &job_schedule("skip", cluster, "0 * * * *", serde_json::json!({}))).await.unwrap();
    let once = h.store.create_schedule("admin", &job_schedule("once", cluster, "0 * * * *", serde_json::json!({"missed": "run_once"}))).await.unwrap();
    let runner = Arc::new(Recorder::default());
    let engine = Engine::new(h.store.clone(), runner.clone(), "replica-a");
    // No server from T0 to 03:20: 01:00, 02:00 and 03:00 passed unseen.
    h.clock.set(T0 + 200 * MINUTE);
    engine.tick().await.unwrap();
    engine.settle().await;
    let skipped = h.store.schedule_runs(skip.id, 10).await.unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!((skipped[0].outcome, skipped[0].scheduled_for), (Outcome::Missed, T0 + 60 * MINUTE));
    assert!(skipped[0].detail.starts_with("3 run times from 2026-01-01T01:00:00.000Z to 2026-01-01T03:00:00.000Z"), "{}", skipped[0].detail);
    let caught = h.store.schedule_runs(once.id, 10).await.unwrap();
    assert_eq!(caught.len(), 2, "{caught:?}");
    assert_eq!((caught[0].outcome, caught[0].scheduled_for, caught[0].catch_up), (Outcome::Succeeded, T0 + 180 * MINUTE, true));
    assert_eq!((caught[1].outcome, caught[1].scheduled_for), (Outcome::Missed, T0 + 60 * MINUTE));
    assert!(caught[1].detail.starts_with("2 run times"), "{}", caught[1].detail);
    assert_eq!(runner.starts.lock().unwrap().len(), 1, "only the catch-up run started");
    for id in [skip.id, once.id] {
        assert_eq!(h.store.schedule(id).await.unwrap().next_run_at, Some(T0 + 240 * MINUTE));
    }
}

async fn a_start_whose_replica_stopped_is_failed(h: Harness) {
    let cluster = cluster(&h.store).await;
    let schedule = h.store.create_schedule("admin", &job_schedule("orphan", cluster, "*/10 * * * *", serde_json::json!({}))).await.unwrap();
    // A replica claims 00:10 and stops before its target said anything.
    h.clock.set(T0 + 10 * MINUTE);
    let due = Due { fire: Some(Fire { scheduled_for: T0 + 10 * MINUTE, catch_up: false }), missed: None, next_run_at: Some(T0 + 20 * MINUTE) };
    let Claim::Start(run) = h.store.claim_schedule_time(&schedule, T0 + 10 * MINUTE, &due, "gone").await.unwrap() else { panic!("claimed") };
    // The same time cannot be claimed twice.
    assert_eq!(h.store.claim_schedule_time(&schedule, T0 + 10 * MINUTE, &due, "late").await.unwrap(), Claim::Lost);
    let engine = Engine::new(h.store.clone(), Arc::new(Recorder::default()), "replica-a");
    h.clock.set(T0 + 14 * MINUTE);
    assert_eq!(engine.tick().await.unwrap().stale, 0, "not stale yet");
    h.clock.set(T0 + 16 * MINUTE);
    assert_eq!(engine.tick().await.unwrap().stale, 1);
    let runs = h.store.schedule_runs(schedule.id, 10).await.unwrap();
    assert_eq!((runs[0].id, runs[0].outcome), (run.id, Outcome::Failed));
    assert!(runs[0].detail.contains("replica starting it stopped"), "{}", runs[0].detail);
}

async fn schedules_are_checked_audited_disabled_and_deleted(h: Harness) {
    let cluster = cluster(&h.store).await;
    for (bad, field) in [
        (job_schedule("x", cluster, "*/1 * * *", serde_json::json!({})), "cron:"),
        (job_schedule("x", cluster, "*/1 * * * *", serde_json::json!({"timezone": "Europe/Nowhere"})), "timezone:"),
        (job_schedule("x/y", cluster, "*/1 * * * *", serde_json::json!({})), "name:"),
    ] {
        match h.store.create_schedule("admin", &bad).await {
            Err(Error::Invalid { message, .. }) => assert!(message.starts_with(field), "{message}"),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(h.store.create_schedule("admin", &job_schedule("x", 424242, "* * * * *", serde_json::json!({}))).await, Err(Error::NotFound(_))));
    let paris = h.store.create_schedule("ops", &job_schedule("paris", cluster, "30 2 * * *", serde_json::json!({"timezone": "Europe/Paris"}))).await.unwrap();
    // 02:30 in Paris in January is 01:30 UTC.
    assert_eq!(paris.next_run_at, Some(T0 + 90 * MINUTE));
    assert!(matches!(h.store.create_schedule("ops", &paris.schedule).await, Err(Error::Conflict(_))));
    let mut disabled = paris.schedule.clone();
    disabled.enabled = false;
    let updated = h.store.update_schedule("ops", paris.id, &disabled).await.unwrap();
    assert_eq!(updated.next_run_at, None);
    h.clock.set(T0 + 100 * MINUTE);
    let engine = Engine::new(h.store.clone(), Arc::new(Recorder::default()), "replica-a");
    assert_eq!(engine.tick().await.unwrap().claimed, 0, "disabled: nothing due");
    // Enabled again: the next time from now, no run for the time it was off.
    let updated = h.store.update_schedule("ops", paris.id, &paris.schedule).await.unwrap();
    assert_eq!(updated.next_run_at, Some(T0 + (24 * 60 + 90) * MINUTE));
    assert!(matches!(h.store.update_schedule("ops", 7, &paris.schedule).await, Err(Error::NotFound(_))));
    h.store.delete_schedule("ops", paris.id).await.unwrap();
    assert!(matches!(h.store.schedule(paris.id).await, Err(Error::NotFound(_))));
    assert!(matches!(h.store.schedule_runs(paris.id, 10).await, Err(Error::NotFound(_))));
    let mut actions: Vec<String> = h.store.audit_log(Some(cluster), 20).await.unwrap().into_iter().map(|e| e.action).filter(|a| a.starts_with("schedule.")).collect();
    actions.sort();
    assert_eq!(actions, ["schedule.create", "schedule.delete", "schedule.update", "schedule.update"]);
    // A schedule goes with its cluster, history included.
    let kept = h.store.create_schedule("ops", &job_schedule("kept", cluster, "* * * * *", serde_json::json!({}))).await.unwrap();
    h.clock.advance(MINUTE);
    engine.tick().await.unwrap();
    engine.settle().await;
    assert_eq!(h.store.schedule_runs(kept.id, 10).await.unwrap().len(), 1);
    h.store.delete_cluster("ops", cluster, false).await.unwrap();
    assert!(matches!(h.store.schedule(kept.id).await, Err(Error::NotFound(_))));
}

async fn agent(store: &Store, cluster: i64, name: &str) -> i64 {
    let (_, secret) = store.create_enrolment("admin", cluster, name, vec![], 60_000).await.unwrap();
    store.enrol(&secret, None, "host", serde_json::json!({})).await.unwrap().0.id
}

/// The real targets: two replicas, each with its own store and engine, over three minutes of
/// `*/1 * * * *` make exactly three jobs (author `schedule:<name>`), one per minute; a job its
/// agent finishes ends its run.
async fn real_jobs_once_per_minute_across_two_replicas_and_followed_to_their_end(h: Harness) {
    let cluster = cluster(&h.store).await;
    let n1 = agent(&h.store, cluster, "n1").await;
    let schedule = h.store.create_schedule("admin", &job_schedule("jobs every minute", cluster, "*/1 * * * *", serde_json::json!({"concurrency": "allow"}))).await.unwrap();
    let other = h.replica(2).await;
    let a = Engine::new(h.store.clone(), Arc::new(Targets::new(h.store.clone())), "replica-a");
    let b = Engine::new(other.clone(), Arc::new(Targets::new(other)), "replica-b");
    for _ in 0..(3 * 12) {
        h.clock.advance(5_000);
        tick_both(&a, &b).await;
    }
    let jobs = h.store.jobs(cluster, 100).await.unwrap();
    assert_eq!(jobs.len(), 3, "{jobs:?}");
    assert!(jobs.iter().all(|j| j.author == "schedule:jobs every minute" && j.spec == fleet_core::jobs::JobSpec::Diagnostics));
    let runs = h.store.schedule_runs(schedule.id, 10).await.unwrap();
    assert_eq!(runs.iter().map(|r| r.scheduled_for).collect::<Vec<_>>(), [T0 + 3 * MINUTE, T0 + 2 * MINUTE, T0 + MINUTE]);
    let mut made: Vec<i64> = runs.iter().map(|r| r.created.as_ref().unwrap()["job_id"].as_i64().unwrap()).collect();
    let mut ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    made.sort_unstable();
    ids.sort_unstable();
    assert_eq!(made, ids, "each run made its own job");
    assert!(runs.iter().all(|r| r.outcome == Outcome::Running), "queued on the agent: {runs:?}");
    // The agent runs the first: its run ends with the job's outcome at the next tick.
    let first = runs[2].created.as_ref().unwrap()["job_id"].as_i64().unwrap();
    let node = h.store.agent(n1).await.unwrap();
    h.store.take_jobs(n1).await.unwrap();
    h.store.finish_job_run(&fleet_core::AgentPrincipal::from(&node), first, &JobResult { status: JobStatus::Succeeded, output: "ok".into(), exit_code: Some(0), duration_ms: 5 }).await.unwrap();
    tick_both(&a, &b).await;
    let runs = h.store.schedule_runs(schedule.id, 10).await.unwrap();
    assert_eq!(runs[2].outcome, Outcome::Succeeded);
    assert_eq!(runs[2].detail, format!("job {first} succeeded: n1 succeeded"));
    // A cluster without agents: the run fails, saying why.
    let pool = h.store.create_pool("admin", "empty", "").await.unwrap();
    let empty = h.store.create_cluster("admin", "empty", pool.id, fleet_core::ClusterSettings::default()).await.unwrap().id;
    let lonely = h.store.create_schedule("admin", &job_schedule("lonely", empty, "*/1 * * * *", serde_json::json!({}))).await.unwrap();
    h.clock.advance(MINUTE);
    tick_both(&a, &b).await;
    let runs = h.store.schedule_runs(lonely.id, 10).await.unwrap();
    assert_eq!((runs.len(), runs[0].outcome), (1, Outcome::Failed), "{runs:?}");
    assert!(runs[0].detail.contains("has no agents"), "{}", runs[0].detail);
}

/// A server backup schedule writes `fleet-backup-*.tar` into its folder each time, keeps the
/// newest `retention`, says where in each run, and audits each backup.
async fn server_backups_are_written_pruned_and_audited(h: Harness) {
    let dir = TempDir::new();
    let new: NewSchedule = serde_json::from_value(serde_json::json!({"name": "backups", "cron": "*/10 * * * *",
        "target": {"type": "server_backup", "destination": dir.path().join("backups").display().to_string(), "retention": 2}}))
    .unwrap();
    let schedule = h.store.create_schedule("admin", &new).await.unwrap();
    let engine = Engine::new(h.store.clone(), Arc::new(Targets::new(h.store.clone())), "replica-a");
    for _ in 0..3 {
        h.clock.advance(10 * MINUTE);
        engine.tick().await.unwrap();
        engine.settle().await;
    }
    let runs = h.store.schedule_runs(schedule.id, 10).await.unwrap();
    assert_eq!(runs.len(), 3);
    for run in &runs {
        assert_eq!(run.outcome, Outcome::Succeeded, "{run:?}");
        assert!(run.detail.contains(" rows in ") && run.detail.contains(" bytes to "), "{}", run.detail);
    }
    assert!(runs[0].detail.contains("; pruned fleet-backup-"), "the third pruned the first: {}", runs[0].detail);
    let newest = runs[0].created.as_ref().unwrap()["location"].as_str().unwrap().to_string();
    let mut files: Vec<String> = std::fs::read_dir(dir.path().join("backups")).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(files[1], newest);
    let manifest = fleet_core::backup::read_manifest(std::fs::File::open(&newest).unwrap()).unwrap();
    assert!(manifest.total_rows() > 0);
    let audited = h.store.audit_entries(&fleet_core::AuditFilter { action: Some("backup.create".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(audited.len(), 3);
    assert!(audited.iter().all(|e| e.actor == "schedule:backups"));
}
