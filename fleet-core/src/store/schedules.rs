//! Schedules at rest (migration 0026; see [`crate::schedules`]): the schedules, the claim that
//! makes each run time run once across replicas, and the history of runs.
//!
//! ```text
//! claim_schedule_time(schedule, due, plan), one write transaction:
//!   UPDATE schedules SET next_run_at = plan.next WHERE id = $id AND next_run_at = $due
//!     0 rows -> another replica claimed it (or the schedule changed): nothing, roll back
//!     1 row  -> ours: the missed row, then the run (running) or skipped (concurrency forbid
//!               while a run is running, read after the update, which holds the row's lock on
//!               PostgreSQL and the database's write lock on SQLite)
//! ```

use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::audit::Audit;
use super::{is_unique_violation, json_column, to_json, unique_to_conflict, Store};
use crate::clock::rfc3339;
use crate::error::{Error, Result};
use crate::schedules::plan::{admit, Due, MAX_COUNTED};
use crate::schedules::{Claim, NewSchedule, Outcome, Progress, Schedule, ScheduleRun};

/// A run being started that has not said it is alive for this long is failed: the replica
/// starting it stopped.
pub(crate) const STALE_START_MS: i64 = 5 * 60_000;

/// Runs kept per schedule (older ones are deleted as new ones are recorded).
pub(crate) const KEPT_RUNS: i64 = 1000;

const SCHEDULE_COLUMNS: &str = "id, name, spec, cluster_id, next_run_at, created_by, created_at, updated_at";
const RUN_COLUMNS: &str = "id, schedule_id, scheduled_for, outcome, catch_up, started_at, finished_at, created, detail, replica";

fn schedule_from_row(row: &AnyRow) -> Result<Schedule> {
    Ok(Schedule {
        id: row.try_get("id")?,
        schedule: json_column(row, "spec")?,
        next_run_at: row.try_get("next_run_at")?,
        created_by: row.try_get("created_by")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn run_from_row(row: &AnyRow) -> Result<ScheduleRun> {
    let outcome: String = row.try_get("outcome")?;
    let created: Option<String> = row.try_get("created")?;
    Ok(ScheduleRun {
        id: row.try_get("id")?,
        schedule_id: row.try_get("schedule_id")?,
        scheduled_for: row.try_get("scheduled_for")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
        outcome: Outcome::parse(&outcome).ok_or_else(|| Error::Corrupt(format!("schedule run outcome {outcome:?}")))?,
        catch_up: row.try_get::<i64, _>("catch_up")? != 0,
        created: created.map(|text| serde_json::from_str(&text)).transpose().map_err(|e| Error::Corrupt(format!("schedule run created: {e}")))?,
        detail: row.try_get("detail")?,
        replica: row.try_get("replica")?,
    })
}

impl Store {
    /// Stores a new schedule (checked first: 422 naming the field; 404 for an unknown cluster;
    /// 409 for a taken name). Its first run time is the first after now (`null` when disabled).
    pub async fn create_schedule(&self, actor: &str, new: &NewSchedule) -> Result<Schedule> {
        let table = new.check().map_err(Error::invalid)?;
        let now = self.now();
        let cluster_id = new.target.cluster_id();
        if let Some(cluster) = cluster_id {
            self.cluster(cluster).await?;
        }
        let schedule = Schedule {
            id: self.new_id()?,
            schedule: new.clone(),
            next_run_at: if new.enabled { table.next_after(now) } else { None },
            created_by: actor.to_string(),
            created_at: now,
            updated_at: now,
        };
        let mut tx = self.write_tx().await?;
        sqlx::query(&format!("INSERT INTO schedules ({SCHEDULE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"))
            .bind(schedule.id)
            .bind(new.name.trim())
            .bind(to_json(new)?)
            .bind(cluster_id)
            .bind(schedule.next_run_at)
            .bind(actor)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_to_conflict(e, || format!("schedule {:?} already exists", new.name.trim())))?;
        self.audit(&mut tx, Audit { actor, action: "schedule.create", cluster_id, version: None, details: json!({"schedule_id": schedule.id, "schedule": new}) }).await?;
        tx.commit().await?;
        Ok(schedule)
    }

    /// Every schedule, by name.
    pub async fn schedules(&self) -> Result<Vec<Schedule>> {
        let rows = sqlx::query(&format!("SELECT {SCHEDULE_COLUMNS} FROM schedules ORDER BY name")).fetch_all(self.pool()).await?;
        rows.iter().map(schedule_from_row).collect()
    }

    /// One schedule; 404 when unknown.
    pub async fn schedule(&self, id: i64) -> Result<Schedule> {
        let row = sqlx::query(&format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| Error::not_found(format!("schedule {id}")))?;
        schedule_from_row(&row)
    }

    /// Replaces a schedule's definition. Its next run time is computed again from now (a new
    /// expression, a new zone, enabled again: no run for the time it was disabled); its
    /// history stays.
    pub async fn update_schedule(&self, actor: &str, id: i64, new: &NewSchedule) -> Result<Schedule> {
        let table = new.check().map_err(Error::invalid)?;
        let cluster_id = new.target.cluster_id();
        if let Some(cluster) = cluster_id {
            self.cluster(cluster).await?;
        }
        let now = self.now();
        let next = if new.enabled { table.next_after(now) } else { None };
        let mut tx = self.write_tx().await?;
        let updated = sqlx::query("UPDATE schedules SET name = $1, spec = $2, cluster_id = $3, next_run_at = $4, updated_at = $5 WHERE id = $6")
            .bind(new.name.trim())
            .bind(to_json(new)?)
            .bind(cluster_id)
            .bind(next)
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique_to_conflict(e, || format!("schedule {:?} already exists", new.name.trim())))?;
        if updated.rows_affected() == 0 {
            return Err(Error::not_found(format!("schedule {id}")));
        }
        self.audit(&mut tx, Audit { actor, action: "schedule.update", cluster_id, version: None, details: json!({"schedule_id": id, "schedule": new}) }).await?;
        tx.commit().await?;
        self.schedule(id).await
    }

    /// Deletes a schedule and its history (a run it started goes on: a job is not cancelled).
    pub async fn delete_schedule(&self, actor: &str, id: i64) -> Result<()> {
        let schedule = self.schedule(id).await?;
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM schedule_runs WHERE schedule_id = $1").bind(id).execute(&mut *tx).await?;
        let deleted = sqlx::query("DELETE FROM schedules WHERE id = $1").bind(id).execute(&mut *tx).await?;
        if deleted.rows_affected() == 0 {
            return Err(Error::not_found(format!("schedule {id}")));
        }
        let cluster_id = schedule.schedule.target.cluster_id();
        self.audit(&mut tx, Audit { actor, action: "schedule.delete", cluster_id, version: None, details: json!({"schedule_id": id, "name": schedule.schedule.name}) }).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A schedule's runs, newest run time first, at most `limit` (1 to [`KEPT_RUNS`]).
    pub async fn schedule_runs(&self, id: i64, limit: i64) -> Result<Vec<ScheduleRun>> {
        self.schedule(id).await?;
        let rows = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = $1 ORDER BY scheduled_for DESC LIMIT $2"))
            .bind(id)
            .bind(limit.clamp(1, KEPT_RUNS))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(run_from_row).collect()
    }

    /// Enabled schedules whose next run time has come, earliest first, at most `limit`.
    pub async fn due_schedules(&self, limit: i64) -> Result<Vec<Schedule>> {
        let rows = sqlx::query(&format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2"))
            .bind(self.now())
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(schedule_from_row).collect()
    }

    /// Claims run time `due` of `schedule` for `replica` and records what `plan` decided (see
    /// the module doc).
    pub async fn claim_schedule_time(&self, schedule: &Schedule, due: i64, plan: &Due, replica: &str) -> Result<Claim> {
        let now = self.now();
        let mut tx = self.write_tx().await?;
        let claimed = sqlx::query("UPDATE schedules SET next_run_at = $1 WHERE id = $2 AND next_run_at = $3")
            .bind(plan.next_run_at)
            .bind(schedule.id)
            .bind(due)
            .execute(&mut *tx)
            .await?;
        if claimed.rows_affected() == 0 {
            return Ok(Claim::Lost);
        }
        let base = ScheduleRun {
            id: 0,
            schedule_id: schedule.id,
            scheduled_for: due,
            started_at: None,
            finished_at: None,
            outcome: Outcome::Missed,
            catch_up: false,
            created: None,
            detail: String::new(),
            replica: replica.to_string(),
        };
        if let Some(missed) = plan.missed {
            let count = if missed.count >= MAX_COUNTED { format!("{MAX_COUNTED} or more run times") } else if missed.count == 1 { "1 run time".into() } else { format!("{} run times", missed.count) };
            let policy = match schedule.schedule.missed {
                crate::schedules::MissedRun::Skip => "skip: not run",
                crate::schedules::MissedRun::RunOnce => "run_once: the latest runs once",
            };
            let detail = format!("{count} from {} to {} passed while no server ran the schedule (missed-run policy {policy})", rfc3339(missed.first), rfc3339(missed.last));
            let run = ScheduleRun { id: self.new_id()?, scheduled_for: missed.first, finished_at: Some(now), detail, ..base.clone() };
            if !self.insert_run(&mut tx, &run).await? {
                return Ok(Claim::Lost);
            }
        }
        let mut started = None;
        if let Some(fire) = plan.fire {
            let running = sqlx::query("SELECT scheduled_for FROM schedule_runs WHERE schedule_id = $1 AND outcome = 'running' ORDER BY scheduled_for DESC LIMIT 1")
                .bind(schedule.id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get::<i64, _>("scheduled_for"))
                .transpose()?;
            let mut run = ScheduleRun { id: self.new_id()?, scheduled_for: fire.scheduled_for, catch_up: fire.catch_up, ..base.clone() };
            if admit(schedule.schedule.concurrency, running.is_some()) {
                run.outcome = Outcome::Running;
                run.started_at = Some(now);
                started = Some(run.clone());
            } else {
                run.outcome = Outcome::Skipped;
                run.finished_at = Some(now);
                run.detail = format!("the run for {} still runs (concurrency forbid)", rfc3339(running.unwrap_or_default()));
            }
            if !self.insert_run(&mut tx, &run).await? {
                return Ok(Claim::Lost);
            }
        }
        sqlx::query(
            "DELETE FROM schedule_runs WHERE schedule_id = $1 AND outcome <> 'running' AND scheduled_for < \
             (SELECT scheduled_for FROM schedule_runs WHERE schedule_id = $1 ORDER BY scheduled_for DESC LIMIT 1 OFFSET $2)",
        )
        .bind(schedule.id)
        .bind(KEPT_RUNS - 1)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(started.map_or(Claim::Recorded, Claim::Start))
    }

    /// Inserts a run; false when its run time is already recorded (another replica's claim).
    async fn insert_run(&self, tx: &mut super::Tx, run: &ScheduleRun) -> Result<bool> {
        let created = run.created.as_ref().map(to_json).transpose()?;
        let inserted = sqlx::query(&format!("INSERT INTO schedule_runs ({RUN_COLUMNS}, alive_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"))
            .bind(run.id)
            .bind(run.schedule_id)
            .bind(run.scheduled_for)
            .bind(run.outcome.as_str())
            .bind(i64::from(run.catch_up))
            .bind(run.started_at)
            .bind(run.finished_at)
            .bind(created)
            .bind(&run.detail)
            .bind(&run.replica)
            .bind(run.started_at)
            .execute(&mut **tx)
            .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Records how a running run stands: what it created, and its end when it ended (`Err`:
    /// it could not start or its target failed). A run no longer running is left as it is.
    pub async fn record_schedule_run(&self, run_id: i64, progress: std::result::Result<Progress, String>) -> Result<()> {
        let now = self.now();
        let (created, end) = match progress {
            Ok(Progress { created, finished }) => (created, finished),
            Err(why) => (None, Some(Err(why))),
        };
        let created = created.as_ref().map(to_json).transpose()?;
        let (outcome, detail, finished_at) = match end {
            None => (Outcome::Running, None, None),
            Some(Ok(detail)) => (Outcome::Succeeded, Some(detail), Some(now)),
            Some(Err(detail)) => (Outcome::Failed, Some(detail), Some(now)),
        };
        sqlx::query(
            "UPDATE schedule_runs SET outcome = $1, created = COALESCE($2, created), detail = COALESCE($3, detail), \
             finished_at = $4, alive_at = $5 WHERE id = $6 AND outcome = 'running'",
        )
        .bind(outcome.as_str())
        .bind(created)
        .bind(detail)
        .bind(finished_at)
        .bind(now)
        .bind(run_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Runs that started their target (they hold what it created) and have not ended, with
    /// their schedules: the runs a scheduler asks its target about.
    pub async fn running_schedule_runs(&self) -> Result<Vec<(Schedule, ScheduleRun)>> {
        let rows = sqlx::query(&format!(
            "SELECT {RUN_COLUMNS} FROM schedule_runs WHERE outcome = 'running' AND created IS NOT NULL ORDER BY scheduled_for LIMIT 1000"
        ))
        .fetch_all(self.pool())
        .await?;
        let mut runs = Vec::new();
        for row in &rows {
            let run = run_from_row(row)?;
            match self.schedule(run.schedule_id).await {
                Ok(schedule) => runs.push((schedule, run)),
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(runs)
    }

    /// Says that the runs this replica is starting are alive (see [`STALE_START_MS`]).
    pub async fn keep_schedule_runs_alive(&self, run_ids: &[i64]) -> Result<()> {
        let now = self.now();
        for id in run_ids {
            sqlx::query("UPDATE schedule_runs SET alive_at = $1 WHERE id = $2 AND outcome = 'running'").bind(now).bind(id).execute(self.pool()).await?;
        }
        Ok(())
    }

    /// Fails runs whose start was claimed but neither finished nor said it is alive for
    /// [`STALE_START_MS`] (the replica starting them stopped); how many.
    pub async fn fail_stale_schedule_runs(&self) -> Result<u64> {
        let now = self.now();
        let done = sqlx::query(
            "UPDATE schedule_runs SET outcome = 'failed', finished_at = $1, \
             detail = 'the server replica starting it stopped before it said what it started' \
             WHERE outcome = 'running' AND created IS NULL AND alive_at < $2",
        )
        .bind(now)
        .bind(now - STALE_START_MS)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected())
    }
}
