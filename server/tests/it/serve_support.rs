//! A real `fleet serve` for the API tests: the binary on a free loopback port, on a SQLite file
//! in a scratch folder or on a fresh database of the test PostgreSQL server, plus a small JSON
//! client.

use std::path::Path;

use fleet_tests::{unique_name, FleetServe};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value};
use sqlx::{Connection, Executor};

/// The first admin's password in every test server.
pub(crate) const ADMIN_PASSWORD: &str = "admin-password";

/// Which database a test server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Db {
    Sqlite,
    Postgres,
}

/// A fresh PostgreSQL database URL, or `None` (after saying why) when none is configured.
pub(crate) async fn fresh_postgres() -> Option<String> {
    let Ok(base) = std::env::var("FLEET_TEST_POSTGRES_URL") else {
        eprintln!("FLEET_TEST_POSTGRES_URL is not set: skipping the PostgreSQL variant (./scripts/test sets it)");
        return None;
    };
    let name = unique_name("fleet_serve_");
    let mut admin = sqlx::PgConnection::connect(&base).await.unwrap();
    admin.execute(format!("CREATE DATABASE {name}").as_str()).await.unwrap();
    admin.close().await.unwrap();
    Some(match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => format!("{}/{name}", &base[..slash]),
        _ => format!("{base}/{name}"),
    })
}

/// A running `fleet serve` (the shared [`FleetServe`] child: killed and its scratch folder
/// removed on drop) with an async client.
pub(crate) struct Server {
    pub(crate) process: FleetServe,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    /// The database URL when on PostgreSQL (a second replica can open it).
    pub(crate) database: Option<String>,
}

/// Starts `fleet serve` on `db`; `None` when PostgreSQL is asked for but not configured.
pub(crate) async fn start(db: Db) -> Option<Server> {
    let database = match db {
        Db::Sqlite => None,
        Db::Postgres => Some(fresh_postgres().await?),
    };
    Some(start_on(database, &[]))
}

/// Starts `fleet serve` on `database` (a SQLite file in a scratch folder when none) with extra
/// arguments, and waits for its `listening on` line.
pub(crate) fn start_on(database: Option<String>, extra: &[&str]) -> Server {
    let mut args = vec!["--grace-seconds", "3"];
    if let Some(url) = &database {
        args.extend(["--database", url.as_str()]);
    }
    args.extend(extra);
    let process = FleetServe::start(Path::new(env!("CARGO_BIN_EXE_fleet")), "127.0.0.1:0", None, ADMIN_PASSWORD, args);
    let base = process.base.clone();
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build().unwrap();
    Server { process, base, client, database }
}

/// A response read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) text: String,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts the status and returns the JSON body (Null when empty).
    #[track_caller]
    pub(crate) fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        if self.text.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// The `error.code` of an error answer.
    pub(crate) fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap_or_default().to_string()
    }
}

impl Server {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    pub(crate) async fn send(&self, request: RequestBuilder) -> Reply {
        let response = request.send().await.unwrap();
        let status = response.status();
        Reply { status, text: response.text().await.unwrap() }
    }

    pub(crate) async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(self.request(Method::GET, path, Some(token))).await
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(self.request(Method::POST, path, Some(token)).json(&body)).await
    }

    pub(crate) async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(self.request(Method::PUT, path, Some(token)).json(&body)).await
    }

    pub(crate) async fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(self.request(Method::DELETE, path, Some(token))).await
    }

    pub(crate) async fn post_text(&self, path: &str, token: &str, text: &str) -> Reply {
        let request = self.request(Method::POST, path, Some(token)).header("content-type", "text/plain").body(text.to_string());
        self.send(request).await
    }

    pub(crate) async fn put_text(&self, path: &str, token: &str, text: &str) -> Reply {
        let request = self.request(Method::PUT, path, Some(token)).header("content-type", "text/plain").body(text.to_string());
        self.send(request).await
    }

    pub(crate) async fn login(&self, username: &str, password: &str) -> String {
        let reply = self.send(self.request(Method::POST, "/api/v1/auth/login", None).json(&json!({"username": username, "password": password}))).await;
        reply.expect(200)["token"].as_str().unwrap().to_string()
    }

    pub(crate) async fn admin(&self) -> String {
        self.login("admin", ADMIN_PASSWORD).await
    }

    /// Creates a pool and a cluster in it; returns the cluster id.
    pub(crate) async fn cluster(&self, token: &str, name: &str) -> i64 {
        let pool = self.post("/api/v1/pools", token, json!({"name": format!("pool-{name}")})).await.expect(201);
        let body = json!({"name": name, "pool_id": pool["id"]});
        self.post("/api/v1/clusters", token, body).await.expect(201)["id"].as_i64().unwrap()
    }

    /// Creates an enrolment for agent `name` and enrols it; returns the agent token.
    pub(crate) async fn agent(&self, admin: &str, cluster: i64, name: &str) -> String {
        let path = format!("/api/v1/clusters/{cluster}/enrollments");
        let enrolment = self.post(&path, admin, json!({"name": name})).await.expect(201);
        let body = json!({"secret": enrolment["secret"], "hostname": format!("{name}.test"), "facts": {}});
        let enrolled = self.send(self.request(Method::POST, "/api/v1/agent/enroll", None).json(&body)).await.expect(201);
        enrolled["token"].as_str().unwrap().to_string()
    }
}

/// Declares each listed `async fn name(db: Db)` as two tests, `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! serve_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::serve_support::Db::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::serve_support::Db::Postgres).await;
                }
            )*
        }
    };
}

/// The first config file's text of a desired state as the agent route answers it.
pub(crate) fn desired_text(state: &Value) -> String {
    let state: fleet_core::wire::DesiredState = serde_json::from_value(state.clone()).unwrap();
    state.bundle().unwrap().text().to_string()
}
