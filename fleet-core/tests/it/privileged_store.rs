//! Every way to make a version checks the privileged directives it adds (DESIGN.md "Trust
//! boundaries"): the admin role and the cluster's `allowed_privileges`; the audit names them.

use std::collections::BTreeSet;

use fleet_core::auth::privileged::Privilege;
use fleet_core::{Actor, ClusterSettings, EditOp, Error, Role};

use crate::support::{Harness, SAMPLE};

crate::store_tests!(
    operators_cannot_add_privileged_directives_by_any_path,
    admins_need_the_clusters_allowance_which_only_admins_change,
);

const OPERATOR: Actor<'static> = Actor { name: "olga", role: Role::Operator };
const ADMIN: Actor<'static> = Actor { name: "ada", role: Role::Admin };

/// SAMPLE with a `program` section at line 29.
fn with_program(command: &str) -> String {
    format!("{SAMPLE}\nprogram mirror\n    command {command}\n")
}

async fn cluster(h: &Harness) -> i64 {
    let pool = h.store.create_pool("admin", "prod", "").await.unwrap();
    h.store.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await.unwrap().id
}

fn forbidden(result: fleet_core::Result<fleet_core::Committed>) -> String {
    match result {
        Err(Error::Forbidden(message)) => message,
        other => panic!("expected forbidden, got {other:?}"),
    }
}

async fn allow(h: &Harness, id: i64, privileges: &[Privilege]) {
    let settings = ClusterSettings { allowed_privileges: privileges.iter().copied().collect(), ..ClusterSettings::default() };
    h.store.update_cluster_settings(ADMIN, id, settings).await.unwrap();
}

async fn operators_cannot_add_privileged_directives_by_any_path(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    allow(&h, id, &[Privilege::Program]).await;
    let text = with_program("/usr/bin/mirror");
    // A first import: everything found counts.
    let message = forbidden(s.import(OPERATOR, id, &text, "").await);
    assert_eq!(
        message,
        "privileged directives need the admin role: line 29, column 1: program mirror (program); \
         line 30, column 5: command /usr/bin/mirror (program)"
    );
    assert!(s.versions(id).await.unwrap().is_empty(), "nothing was stored");
    // Whole-text replace.
    s.import(OPERATOR, id, SAMPLE, "v1").await.unwrap();
    assert!(forbidden(s.replace(OPERATOR, id, 1, &text, "").await).contains("program mirror"));
    // A transaction commit (staging is fine: nothing reaches a node before a version).
    let tx = s.begin("olga", id, 1).await.unwrap();
    s.stage("olga", tx.id, vec![EditOp::ReplaceText { text: text.clone() }]).await.unwrap();
    assert!(forbidden(s.commit(OPERATOR, tx.id, "").await).contains("line 29"));
    assert_eq!(s.commit(ADMIN, tx.id, "mirror").await.unwrap().version.number, 2);
    // The version is in: an operator's edit elsewhere adds nothing privileged and passes.
    let tuned = text.replace("maxconn 4096", "maxconn 8192");
    assert_eq!(s.replace(OPERATOR, id, 2, &tuned, "tune").await.unwrap().version.number, 3);
    // Changing the command is adding a directive.
    let message = forbidden(s.replace(OPERATOR, id, 3, &with_program("/bin/sh -c id"), "").await);
    assert!(message.ends_with("line 30, column 5: command /bin/sh -c id (program)"), "{message}");
    // Removing it is not; restoring a version with it, over one without, adds it again.
    assert_eq!(s.replace(OPERATOR, id, 3, SAMPLE, "drop mirror").await.unwrap().version.number, 4);
    assert!(forbidden(s.restore(OPERATOR, id, 2, "").await).contains("program mirror"));
    assert_eq!(s.restore(ADMIN, id, 2, "").await.unwrap().version.number, 5);
    // A restore of a version without it, over one with it, adds nothing.
    assert_eq!(s.restore(OPERATOR, id, 1, "").await.unwrap().version.number, 6);
}

async fn admins_need_the_clusters_allowance_which_only_admins_change(h: Harness) {
    let s = &h.store;
    let id = cluster(&h).await;
    let text = format!(
        "{}    external-check command /bin/true\n",
        SAMPLE.replace("global\n", "global\n    insecure-fork-wanted\n    external-check\n")
    );
    let message = forbidden(s.import(ADMIN, id, &text, "").await);
    assert!(
        message.starts_with(
            "the cluster does not allow these privileged directives (allowed_privileges lacks insecure-fork, external-check): \
             line 3, column 5: insecure-fork-wanted (insecure-fork); line 4, column 5: external-check (external-check); "
        ),
        "{message}"
    );
    assert!(message.ends_with("line 30, column 5: external-check command /bin/true (external-check)"), "{message}");

    // Only an admin changes the allowance, and not when creating a cluster.
    let wanted: BTreeSet<Privilege> = [Privilege::ExternalCheck, Privilege::InsecureFork].into();
    let settings = ClusterSettings { allowed_privileges: wanted.clone(), ..ClusterSettings::default() };
    let raise = s.update_cluster_settings(OPERATOR, id, settings.clone()).await;
    assert!(matches!(&raise, Err(Error::Forbidden(m)) if m.contains("needs the admin role")), "{raise:?}");
    let pool = s.create_pool("admin", "other", "").await.unwrap();
    let created = s.create_cluster("admin", "sneaky", pool.id, settings.clone()).await;
    assert!(matches!(created, Err(Error::Invalid { .. })), "{created:?}");
    assert_eq!(s.update_cluster_settings(ADMIN, id, settings.clone()).await.unwrap().settings.allowed_privileges, wanted);
    // An operator's update that keeps it passes.
    let moved = ClusterSettings { config_path: "/srv/haproxy.cfg".into(), ..settings.clone() };
    s.update_cluster_settings(OPERATOR, id, moved).await.unwrap();

    let committed = s.import(ADMIN, id, &text, "health checks by script").await.unwrap();
    // The test clock stands still: find the entry by what it is, not by its place.
    let audit = s.audit_log(Some(id), 100).await.unwrap();
    let import = |n: i64| audit_of(&audit, n);
    let named: Vec<(&str, i64)> = import(committed.version.number).details["privileged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["directive"].as_str().unwrap(), u["line"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        named,
        vec![("insecure-fork-wanted", 3), ("external-check", 4), ("external-check command /bin/true", 30)]
    );
    assert_eq!(import(committed.version.number).details["privileged"][2]["privilege"], "external-check");
    // The diff of that version names them too.
    let diff = s.diff_versions(id, 1, None).await.unwrap();
    assert_eq!(diff.config.privileged.len(), 3);
    assert!(diff.config.privileged_lines().contains("! privileged: external-check command /bin/true (external-check) at line 30\n"));
    // A version adding nothing privileged has no such audit field.
    let plain = s.import(OPERATOR, id, &text.replace("maxconn 4096", "maxconn 10"), "").await.unwrap();
    let audit = s.audit_log(Some(id), 100).await.unwrap();
    assert!(audit_of(&audit, plain.version.number).details.get("privileged").is_none());
}

fn audit_of(audit: &[fleet_core::AuditEntry], version: i64) -> &fleet_core::AuditEntry {
    audit.iter().find(|e| e.action == "version.import" && e.version == Some(version)).unwrap()
}
