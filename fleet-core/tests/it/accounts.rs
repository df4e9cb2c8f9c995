//! Accounts (issue 12 §3) on both databases: login throttling with the injected clock, the
//! same argon2 work for unknown users, username skeletons, password rules and changes, the
//! TOTP second factor with recovery codes, pool-scoped roles, API token expiry and agent and
//! enrolment management.

use std::net::IpAddr;
use std::time::Instant;

use fleet_core::auth::{throttle, totp};
use fleet_core::rbac::{Permission, Scope};
use fleet_core::secrets::{KeyFile, Keyring, MasterKey};
use fleet_core::{Clock, ClusterSettings, Credentials, Error, OsRandom, PoolRole, Role, SecuritySettings, SignIn, UserChange};

use crate::support::Harness;

const PASSWORD: &str = "glacier-tuba-quarry";

crate::store_tests!(
    three_hundred_wrong_passwords_are_throttled_and_the_right_one_works_after_the_window,
    the_source_network_is_throttled_too,
    failed_login_audit_rows_are_bounded_and_escaped,
    usernames_are_unique_by_skeleton,
    passwords_are_checked_and_changes_end_sessions,
    users_change_role_and_go,
    totp_login_is_two_steps_with_recovery_codes,
    totp_secrets_are_sealed_and_rotate_with_the_master_key,
    admins_must_enrol_when_the_setting_says_so,
    pool_roles_scope_a_principal,
    api_tokens_expire_list_and_revoke,
    agents_and_enrolments_are_managed,
);

fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

async fn sign_in(h: &Harness, username: &str, password: &str, source: Option<IpAddr>) -> fleet_core::Result<SignIn> {
    h.store.sign_in(Credentials { username, password, source }, 3_600_000).await
}

async fn three_hundred_wrong_passwords_are_throttled_and_the_right_one_works_after_the_window(h: Harness) {
    h.store.create_user("system", "ada", PASSWORD, Role::Operator).await.unwrap();
    let (mut unauthorized, mut throttled, mut retry_after) = (0, 0, Vec::new());
    for i in 0..300 {
        // Each attempt from another address: only the per-username throttle applies.
        let source = ip(&format!("10.0.{}.{}", i / 250, i % 250 + 1));
        match sign_in(&h, "ada", "wrong password!", source).await {
            Err(Error::Unauthorized) => unauthorized += 1,
            Err(Error::Throttled { retry_after_ms }) => {
                throttled += 1;
                retry_after.push(retry_after_ms);
            }
            other => panic!("attempt {i}: {other:?}"),
        }
    }
    // Five free failures and the sixth that starts the lockout; the clock stands still, so
    // every later attempt is refused before any password is checked.
    assert_eq!((unauthorized, throttled), (6, 294));
    assert!(retry_after.iter().all(|&ms| ms == 1_000), "{:?}", &retry_after[..3]);
    // Even the right password waits while the lockout lasts ...
    assert!(matches!(sign_in(&h, "ADA", PASSWORD, ip("10.9.9.9")).await, Err(Error::Throttled { .. })));
    // ... and works once it ends.
    h.clock.advance(1_000);
    assert!(matches!(sign_in(&h, "ada", PASSWORD, ip("10.9.9.9")).await, Ok(SignIn::Session { .. })));

    // Waits double with each further failure, up to the cap, and the window forgets them.
    let mut waits = Vec::new();
    for _ in 0..20 {
        match sign_in(&h, "ada", "wrong password!", None).await {
            Err(Error::Unauthorized) => {}
            Err(Error::Throttled { retry_after_ms }) => {
                waits.push(retry_after_ms);
                h.clock.advance(retry_after_ms);
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(&waits[..4], &[1_000, 2_000, 4_000, 8_000]);
    h.clock.advance(throttle::PER_USER.window_ms);
    assert!(matches!(sign_in(&h, "ada", PASSWORD, None).await, Ok(SignIn::Session { .. })));
}

async fn the_source_network_is_throttled_too(h: Harness) {
    h.store.create_user("system", "bob", PASSWORD, Role::Viewer).await.unwrap();
    // Spraying many usernames from one address: the address is blocked after its free failures.
    let mut outcomes = Vec::new();
    for i in 0..25 {
        outcomes.push(sign_in(&h, &format!("user{i}"), "wrong password!", ip("2001:db8:1:2::7")).await);
    }
    let free = usize::try_from(throttle::PER_NETWORK.free_failures).unwrap();
    assert!(outcomes[..=free].iter().all(|o| matches!(o, Err(Error::Unauthorized))));
    assert!(outcomes[free + 1..].iter().all(|o| matches!(o, Err(Error::Throttled { .. }))));
    // The same /64, another host: blocked too; another network: not.
    assert!(matches!(sign_in(&h, "bob", PASSWORD, ip("2001:db8:1:2::99")).await, Err(Error::Throttled { .. })));
    assert!(matches!(sign_in(&h, "bob", PASSWORD, ip("2001:db8:9::1")).await, Ok(SignIn::Session { .. })));
}

async fn failed_login_audit_rows_are_bounded_and_escaped(h: Harness) {
    let s = &h.store;
    let evil = format!("\u{202e}{}\n", "x".repeat(500));
    for _ in 0..40 {
        let _ = sign_in(&h, &evil, "wrong password!", None).await;
        h.clock.advance(60_000);
    }
    let log = s.audit_log(None, 1000).await.unwrap();
    let failed: Vec<_> = log.iter().filter(|e| e.action.starts_with("session.login_")).collect();
    // The first failure of the window and the start of the lockout, not one row per attempt.
    assert!(!failed.is_empty() && failed.len() <= 4, "{} rows", failed.len());
    for entry in failed {
        let name = entry.details["username"].as_str().unwrap();
        assert!(name.starts_with("\\u{202e}") && !name.contains('\n') && name.chars().count() <= 65, "{name:?}");
        assert!(entry.actor.chars().count() <= 65);
    }
}

async fn usernames_are_unique_by_skeleton(h: Harness) {
    let s = &h.store;
    let admin = s.create_user("system", "admin", PASSWORD, Role::Admin).await.unwrap();
    for clash in ["ADMIN", "admın", "аdmin", "ａｄｍｉｎ", "Admin"] {
        let refused = s.create_user("system", clash, PASSWORD, Role::Viewer).await;
        assert!(matches!(refused, Err(Error::Conflict(_))), "{clash:?}: {refused:?}");
    }
    for bad in ["", "a b", "x".repeat(65).as_str(), "\u{202e}abc", "a:b"] {
        assert!(matches!(s.create_user("system", bad, PASSWORD, Role::Viewer).await, Err(Error::Invalid { .. })), "{bad:?}");
    }
    // Stored NFKC; login by any spelling with the same skeleton reaches the one account.
    let fullwidth = s.create_user("system", "ｊｏｅ", PASSWORD, Role::Viewer).await.unwrap();
    assert_eq!(fullwidth.username, "joe");
    let (user, _) = s.login("ADMİN", PASSWORD, 1000).await.unwrap();
    assert_eq!(user.id, admin.id);
}

async fn passwords_are_checked_and_changes_end_sessions(h: Harness) {
    let s = &h.store;
    for weak in ["short-pass", "            ", "password1234", "1qaz2wsx3edc", "aaaaaaaaaaaaaaa"] {
        assert!(matches!(s.create_user("system", "eve", weak, Role::Viewer).await, Err(Error::Invalid { .. })), "{weak:?}");
    }
    let eve = s.create_user("system", "eve", PASSWORD, Role::Viewer).await.unwrap();
    let (_, one) = s.login("eve", PASSWORD, 60_000).await.unwrap();
    let (_, two) = s.login("eve", PASSWORD, 60_000).await.unwrap();
    let (_, secret) = s.create_api_token("eve", eve.id, "ci").await.unwrap();
    assert!(matches!(s.change_password(&eve, "not my password", "new-glacier-tuba").await, Err(Error::Forbidden(_))));
    assert!(matches!(s.change_password(&eve, PASSWORD, "password").await, Err(Error::Invalid { .. })));
    s.session_user(&one).await.unwrap();
    s.change_password(&eve, PASSWORD, "new-glacier-tuba").await.unwrap();
    for token in [&one, &two] {
        assert!(matches!(s.session_user(token).await, Err(Error::Unauthorized)), "sessions end with the password");
    }
    s.api_token_user(&secret).await.unwrap();
    assert!(matches!(s.login("eve", PASSWORD, 1000).await, Err(Error::Unauthorized)));
    // Guessing the current password through a session is throttled like a login.
    let mut refusals = Vec::new();
    for _ in 0..7 {
        refusals.push(match s.change_password(&eve, "a wrong guess!", "another-glacier").await {
            Err(Error::Forbidden(_)) => "forbidden",
            Err(Error::Throttled { .. }) => "throttled",
            other => panic!("{other:?}"),
        });
    }
    let first_throttled = refusals.iter().position(|r| *r == "throttled").unwrap();
    assert!(first_throttled > 0 && refusals[first_throttled..].iter().all(|r| *r == "throttled"), "{refusals:?}");
    h.clock.advance(1_000);
    let (_, three) = s.login("eve", "new-glacier-tuba", 60_000).await.unwrap();
    s.reset_password("admin", eve.id, "reset-by-the-admin").await.unwrap();
    assert!(matches!(s.session_user(&three).await, Err(Error::Unauthorized)));
    s.login("eve", "reset-by-the-admin", 1000).await.unwrap();
}

async fn users_change_role_and_go(h: Harness) {
    let s = &h.store;
    let root = s.create_user("system", "root", PASSWORD, Role::Admin).await.unwrap();
    let olga = s.create_user("system", "olga", PASSWORD, Role::Viewer).await.unwrap();
    // The last global admin keeps its role and cannot be deleted.
    let demote = UserChange { role: Some(Some(Role::Viewer)), ..UserChange::default() };
    assert!(matches!(s.update_user("root", root.id, &demote).await, Err(Error::Conflict(_))));
    let promote = UserChange { role: Some(Some(Role::Admin)), ..UserChange::default() };
    assert_eq!(s.update_user("root", olga.id, &promote).await.unwrap().role, Some(Role::Admin));
    assert!(matches!(s.delete_user("root", root.id, root.id).await, Err(Error::Conflict(_))));
    let (_, session) = s.login("olga", PASSWORD, 60_000).await.unwrap();
    let (_, token) = s.create_api_token("root", olga.id, "ci").await.unwrap();
    s.delete_user("root", root.id, olga.id).await.unwrap();
    assert!(matches!(s.session_user(&session).await, Err(Error::Unauthorized)));
    assert!(matches!(s.api_token_user(&token).await, Err(Error::Unauthorized)));
    assert!(matches!(s.user(olga.id).await, Err(Error::NotFound(_))));
    assert!(matches!(s.update_user("root", root.id, &demote).await, Err(Error::Conflict(_))));
    let actions: Vec<String> = s.audit_log(None, 100).await.unwrap().into_iter().map(|e| e.action).collect();
    assert!(actions.contains(&"user.delete".to_string()) && actions.contains(&"user.update".to_string()));
}

fn ring() -> Keyring {
    Keyring::new(MasterKey::generate(&OsRandom).unwrap())
}

async fn totp_login_is_two_steps_with_recovery_codes(h: Harness) {
    let s = &h.store;
    let ring = &ring();
    let ada = s.create_user("system", "ada", PASSWORD, Role::Admin).await.unwrap();
    let enrolment = s.begin_mfa(ring, &ada).await.unwrap();
    assert!(enrolment.qr_svg.contains("<svg") && enrolment.otpauth_uri.starts_with("otpauth://totp/HAProxy%20Fleet:ada?"));
    // Not active until confirmed.
    assert!(matches!(sign_in(&h, "ada", PASSWORD, None).await, Ok(SignIn::Session { .. })));
    assert!(matches!(s.confirm_mfa(ring, &ada, "000000").await, Err(Error::Invalid { .. })));
    let now = h.clock.now_ms();
    let codes = s.confirm_mfa(ring, &ada, &totp::code_at(&enrolment.secret, now).unwrap()).await.unwrap();
    assert_eq!(codes.len(), 10);

    // Step one gives a challenge, not a session; the plain login refuses.
    assert!(matches!(s.login("ada", PASSWORD, 1000).await, Err(Error::Forbidden(_))));
    let challenge = |sign_in: SignIn| match sign_in {
        SignIn::MfaRequired { challenge, .. } => challenge,
        other => panic!("{other:?}"),
    };
    let first = challenge(sign_in(&h, "ada", PASSWORD, None).await.unwrap());
    // The code used to confirm cannot be replayed; the next step's code works once.
    let replay = totp::code_at(&enrolment.secret, now).unwrap();
    assert!(matches!(s.complete_mfa(ring, &first, &replay, None, 60_000).await, Err(Error::Unauthorized)));
    h.clock.advance(30_000);
    let code = totp::code_at(&enrolment.secret, h.clock.now_ms()).unwrap();
    let SignIn::Session { token, user, .. } = s.complete_mfa(ring, &first, &code, None, 60_000).await.unwrap() else { panic!() };
    assert!(user.mfa_enabled);
    s.session_user(&token).await.unwrap();
    assert!(matches!(s.complete_mfa(ring, &first, &code, None, 60_000).await, Err(Error::Unauthorized)), "a challenge is spent");

    // A recovery code works once, in any case and with blanks.
    let second = challenge(sign_in(&h, "ada", PASSWORD, None).await.unwrap());
    let typed = format!(" {} ", codes[3].to_uppercase());
    assert!(matches!(s.complete_mfa(ring, &second, &typed, None, 60_000).await, Ok(SignIn::Session { .. })));
    let third = challenge(sign_in(&h, "ada", PASSWORD, None).await.unwrap());
    assert!(matches!(s.complete_mfa(ring, &third, &codes[3], None, 60_000).await, Err(Error::Unauthorized)));
    assert_eq!(s.recovery_codes_left(ada.id).await.unwrap(), 9);
    // Wrong codes spend the challenge after a few tries.
    for _ in 0..4 {
        assert!(matches!(s.complete_mfa(ring, &third, "123456", None, 60_000).await, Err(Error::Unauthorized)));
    }
    let code = totp::code_at(&enrolment.secret, h.clock.now_ms() + 30_000).unwrap();
    assert!(matches!(s.complete_mfa(ring, &third, &code, None, 60_000).await, Err(Error::Unauthorized)));

    // An admin's reset removes it; the plain login works again.
    s.reset_mfa("root", ada.id).await.unwrap();
    h.clock.advance(throttle::PER_USER.window_ms);
    s.login("ada", PASSWORD, 1000).await.unwrap();
}

/// The TOTP secret is stored sealed (a copy of the database cannot mint codes), a secret
/// stored before sealing existed is sealed when the key ring opens, and `fleet secrets rotate`
/// reseals it: the old key opens it no more, logins go on with the new one.
async fn totp_secrets_are_sealed_and_rotate_with_the_master_key(h: Harness) {
    let s = &h.store;
    let dir = std::env::temp_dir().join(format!("fleet-totp-{}", fleet_tests::unique_name("")));
    let file = KeyFile::new(dir.join("secret.key"));
    let old = s.keyring(&file).await.unwrap();
    let ada = s.create_user("system", "ada", PASSWORD, Role::Admin).await.unwrap();
    let enrolment = s.begin_mfa(&old, &ada).await.unwrap();
    s.confirm_mfa(&old, &ada, &totp::code_at(&enrolment.secret, h.clock.now_ms()).unwrap()).await.unwrap();
    let raw = sqlx::AnyPool::connect(&h.url).await.unwrap();
    let stored = |raw: sqlx::AnyPool| async move {
        let row = sqlx::query("SELECT totp_secret FROM users WHERE username = 'ada'").fetch_one(&raw).await.unwrap();
        sqlx::Row::try_get::<String, _>(&row, "totp_secret").unwrap()
    };
    let sealed = stored(raw.clone()).await;
    assert!(sealed.starts_with("fleet-sealed:v1:") && !sealed.contains(&enrolment.secret), "{sealed}");

    // Rotation: the old ring no longer opens it; the new one does.
    let (new, _) = s.rotate_master_key(&file).await.unwrap();
    h.clock.advance(30_000);
    let code = totp::code_at(&enrolment.secret, h.clock.now_ms()).unwrap();
    let challenge = |sign_in: SignIn| match sign_in {
        SignIn::MfaRequired { challenge, .. } => challenge,
        other => panic!("{other:?}"),
    };
    let first = challenge(sign_in(&h, "ada", PASSWORD, None).await.unwrap());
    assert!(matches!(s.complete_mfa(&old, &first, &code, None, 60_000).await, Err(Error::Crypto(_))));
    assert!(matches!(s.complete_mfa(&new, &first, &code, None, 60_000).await, Ok(SignIn::Session { .. })));

    // A secret stored in the clear (before sealing) is sealed at the next start.
    sqlx::query("UPDATE users SET totp_secret = $1 WHERE username = 'ada'").bind(&enrolment.secret).execute(&raw).await.unwrap();
    assert_eq!(s.keyring(&file).await.unwrap(), new);
    let resealed = stored(raw.clone()).await;
    assert!(resealed.starts_with("fleet-sealed:v1:") && !resealed.contains(&enrolment.secret), "{resealed}");
    h.clock.advance(30_000);
    let code = totp::code_at(&enrolment.secret, h.clock.now_ms()).unwrap();
    let second = challenge(sign_in(&h, "ada", PASSWORD, None).await.unwrap());
    assert!(matches!(s.complete_mfa(&new, &second, &code, None, 60_000).await, Ok(SignIn::Session { .. })));
    raw.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

async fn admins_must_enrol_when_the_setting_says_so(h: Harness) {
    let s = &h.store;
    let ada = s.create_user("system", "ada", PASSWORD, Role::Admin).await.unwrap();
    s.create_user("system", "vic", PASSWORD, Role::Viewer).await.unwrap();
    s.set_security_settings("ada", SecuritySettings { mfa_required_for_admins: true }).await.unwrap();
    let SignIn::Session { token, mfa_enrolment_required, .. } = sign_in(&h, "ada", PASSWORD, None).await.unwrap() else { panic!() };
    assert!(mfa_enrolment_required);
    let principal = s.authenticate(&token).await.unwrap();
    assert!(matches!(principal.user(Permission::Read), Err(Error::Forbidden(_))), "an enrolment session does nothing else");
    let user = principal.account().unwrap().clone();
    let ring = &ring();
    let enrolment = s.begin_mfa(ring, &user).await.unwrap();
    s.confirm_mfa(ring, &user, &totp::code_at(&enrolment.secret, h.clock.now_ms()).unwrap()).await.unwrap();
    s.authenticate(&token).await.unwrap().user(Permission::Admin).unwrap();
    // Viewers are not asked; one user can be required by name.
    let SignIn::Session { mfa_enrolment_required, .. } = sign_in(&h, "vic", PASSWORD, None).await.unwrap() else { panic!() };
    assert!(!mfa_enrolment_required);
    let vic = s.users().await.unwrap().into_iter().find(|u| u.username == "vic").unwrap();
    s.update_user("ada", vic.id, &UserChange { mfa_required: Some(true), ..UserChange::default() }).await.unwrap();
    let SignIn::Session { mfa_enrolment_required, .. } = sign_in(&h, "vic", PASSWORD, None).await.unwrap() else { panic!() };
    assert!(mfa_enrolment_required);
    assert_eq!(ada.id, user.id);
}

async fn pool_roles_scope_a_principal(h: Harness) {
    let s = &h.store;
    let a = s.create_pool("system", "a", "").await.unwrap();
    let b = s.create_pool("system", "b", "").await.unwrap();
    let in_a = s.create_cluster("system", "edge-a", a.id, ClusterSettings::default()).await.unwrap();
    let in_b = s.create_cluster("system", "edge-b", b.id, ClusterSettings::default()).await.unwrap();
    let grants = [PoolRole { pool_id: a.id, role: Role::Operator }];
    let sam = s.create_user_with("system", "sam", PASSWORD, None, &grants).await.unwrap();
    assert_eq!((sam.role, sam.pool_roles.clone()), (None, grants.to_vec()));
    let (_, token) = s.login("sam", PASSWORD, 60_000).await.unwrap();
    let principal = s.authenticate(&token).await.unwrap();
    assert!(principal.user(Permission::Read).is_err(), "nothing outside its pools");
    let there = s.scoped(principal.clone(), Scope::Cluster(in_a.id)).await.unwrap();
    assert!(there.user(Permission::Write).is_ok() && there.user(Permission::Admin).is_err());
    let elsewhere = s.scoped(principal.clone(), Scope::Cluster(in_b.id)).await.unwrap();
    assert!(elsewhere.user(Permission::Read).is_err());
    assert!(s.scoped(principal, Scope::Pool(b.id)).await.unwrap().user(Permission::Read).is_err());
    // Unknown pools are refused; a user needs some role.
    let bad = [PoolRole { pool_id: 424_242, role: Role::Viewer }];
    assert!(matches!(s.create_user_with("system", "x1", PASSWORD, None, &bad).await, Err(Error::NotFound(_))));
    assert!(matches!(s.create_user_with("system", "x2", PASSWORD, None, &[]).await, Err(Error::Invalid { .. })));
    // A deleted pool takes its roles with it.
    let c = s.create_pool("system", "c", "").await.unwrap();
    let two = vec![PoolRole { pool_id: a.id, role: Role::Operator }, PoolRole { pool_id: c.id, role: Role::Admin }];
    s.update_user("system", sam.id, &UserChange { pool_roles: Some(two), ..UserChange::default() }).await.unwrap();
    s.delete_pool("system", c.id, false).await.unwrap();
    assert_eq!(s.user(sam.id).await.unwrap().pool_roles, grants.to_vec());
}

async fn api_tokens_expire_list_and_revoke(h: Harness) {
    let s = &h.store;
    let ada = s.create_user("system", "ada", PASSWORD, Role::Viewer).await.unwrap();
    let bob = s.create_user("system", "bob", PASSWORD, Role::Viewer).await.unwrap();
    let (short, short_secret) = s.create_api_token_for("ada", ada.id, "short", Some(60_000)).await.unwrap();
    let (long, long_secret) = s.create_api_token_for("ada", ada.id, "long", None).await.unwrap();
    assert!(matches!(s.create_api_token_for("ada", ada.id, "x", Some(0)).await, Err(Error::Invalid { .. })));
    assert!(matches!(s.create_api_token_for("ada", ada.id, "", None).await, Err(Error::Invalid { .. })));
    assert!(short_secret.starts_with(&short.prefix) && short.prefix.len() == 11);
    s.api_token_user(&short_secret).await.unwrap();
    let listed = s.api_tokens(ada.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    let used = listed.iter().find(|t| t.id == short.id).unwrap();
    assert_eq!(used.last_used_at, Some(h.clock.now_ms()));
    assert_eq!(used.expires_at, Some(h.clock.now_ms() + 60_000));
    let serialized = serde_json::to_string(&listed).unwrap();
    assert!(!serialized.contains(&short_secret) && !serialized.contains(&long_secret));
    h.clock.advance(60_000);
    assert!(matches!(s.api_token_user(&short_secret).await, Err(Error::Unauthorized)), "expired");
    // Revoking one's own: another user's token is not found.
    assert!(matches!(s.revoke_api_token_of("bob", long.id, Some(bob.id)).await, Err(Error::NotFound(_))));
    s.revoke_api_token_of("ada", long.id, Some(ada.id)).await.unwrap();
    assert!(matches!(s.api_token_user(&long_secret).await, Err(Error::Unauthorized)));
}

async fn agents_and_enrolments_are_managed(h: Harness) {
    let s = &h.store;
    let pool = s.create_pool("admin", "p", "").await.unwrap();
    let id = s.create_cluster("admin", "edge", pool.id, ClusterSettings::default()).await.unwrap().id;
    let day = 86_400_000;
    // The lifetime is capped.
    assert!(matches!(s.create_enrolment("admin", id, "n0", vec![], 30 * day).await, Err(Error::Invalid { .. })));
    let (_, secret1) = s.create_enrolment("admin", id, "n1", vec![], day).await.unwrap();
    let (e2, secret2) = s.create_enrolment("admin", id, "n2", vec![], day).await.unwrap();
    let pending: Vec<i64> = s.pending_enrolments(id).await.unwrap().iter().map(|e| e.id).collect();
    assert_eq!(pending.len(), 2);
    s.revoke_enrolment("admin", id, e2.id).await.unwrap();
    assert!(matches!(s.enrol(&secret2, None, "h2", serde_json::json!({})).await, Err(Error::Unauthorized)));
    let (agent, token) = s.enrol(&secret1, None, "h1", serde_json::json!({})).await.unwrap();
    assert!(s.pending_enrolments(id).await.unwrap().is_empty(), "used enrolments are not pending");
    assert_eq!(s.agents(id).await.unwrap().len(), 1);

    let (_, rotated) = s.rotate_agent_token("admin", id, agent.id).await.unwrap();
    assert!(matches!(s.agent_by_token(&token).await, Err(Error::Unauthorized)), "the old token stops at once");
    s.agent_by_token(&rotated).await.unwrap();
    assert!(matches!(s.revoke_agent("admin", 999, agent.id).await, Err(Error::NotFound(_))), "another cluster");
    s.revoke_agent("admin", id, agent.id).await.unwrap();
    assert!(matches!(s.authenticate(&rotated).await, Err(Error::Unauthorized)));
    assert!(s.status(id).await.unwrap().agents.is_empty());
    let actions: Vec<String> = s.audit_log(Some(id), 100).await.unwrap().into_iter().map(|e| e.action).collect();
    for action in ["agent.revoke", "agent.rotate_token", "enrolment.revoke"] {
        assert!(actions.contains(&action.to_string()), "{action}: {actions:?}");
    }
}

/// Unknown usernames cost the same argon2 work as known ones: failed logins for a real user and
/// for an unknown name, timed back to back (alternating which goes first, so load from other
/// tests falls on both alike), have medians within 20% of each other. (SQLite only: the figure
/// is about argon2, not the database.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_cost_the_same_argon2_work() {
    let h = crate::support::harness(crate::support::Db::Sqlite).await.unwrap();
    h.store.create_user("system", "real", PASSWORD, Role::Viewer).await.unwrap();
    let (mut known, mut unknown, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..31 {
        let mut pair = [0.0f64; 2];
        let order: [(usize, &str); 2] = if i % 2 == 0 { [(0, "real"), (1, "nobody-at-all")] } else { [(1, "nobody-at-all"), (0, "real")] };
        for (slot, name) in order {
            let started = Instant::now();
            let outcome = sign_in(&h, name, &format!("wrong password {i}"), None).await;
            pair[slot] = started.elapsed().as_secs_f64();
            assert!(matches!(outcome, Err(Error::Unauthorized)), "{outcome:?}");
        }
        known.push(pair[0]);
        unknown.push(pair[1]);
        ratios.push(pair[0] / pair[1]);
        // Past any lockout: every attempt runs argon2.
        h.clock.advance(throttle::PER_USER.window_ms);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (k, u, r) = (median(&mut known), median(&mut unknown), median(&mut ratios));
    eprintln!("failed login medians: known user {:.1} ms, unknown user {:.1} ms, paired ratio {r:.3}", k * 1e3, u * 1e3);
    assert!((r - 1.0).abs() < 0.2, "known {k:.4} s vs unknown {u:.4} s (paired ratio {r:.3})");
}
