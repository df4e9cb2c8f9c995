//! `fleet login`, `fleet logout`, `fleet whoami`.
//!
//! The password comes from `FLEET_PASSWORD`, else standard input when it is not a terminal (or
//! with `--password-stdin`), else a prompt that does not echo. A second factor's code comes
//! from `FLEET_MFA_CODE`, else a prompt.

use std::io::{BufRead, IsTerminal};

use serde_json::{json, Value};

use super::table::{cell, print_json, print_table};
use super::{creds, env, ClientError, Conn};

/// `fleet login`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    #[command(flatten)]
    conn: Conn,
    /// Who logs in.
    #[arg(long, short = 'u', default_value = "admin")]
    username: String,
    /// Read the password from standard input (its first line).
    #[arg(long)]
    password_stdin: bool,
}

fn read_line(what: &str) -> Result<String, ClientError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|source| ClientError::Io { path: format!("standard input ({what})"), source })?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn password(args: &LoginArgs) -> Result<String, ClientError> {
    if let Some(password) = env("FLEET_PASSWORD") {
        return Ok(password);
    }
    if args.password_stdin || !std::io::stdin().is_terminal() {
        return read_line("password");
    }
    rpassword::prompt_password(format!("password for {}: ", args.username)).map_err(|source| ClientError::Io { path: "terminal".into(), source })
}

fn mfa_code() -> Result<String, ClientError> {
    if let Some(code) = env("FLEET_MFA_CODE") {
        return Ok(code);
    }
    if !std::io::stdin().is_terminal() {
        return Err(ClientError::Usage("a second factor is required: set FLEET_MFA_CODE".into()));
    }
    eprint!("authenticator code: ");
    read_line("code")
}

/// Logs in and stores the session.
pub(crate) fn login(args: &LoginArgs) -> Result<(), ClientError> {
    let server = args.conn.server.clone().or_else(|| env("FLEET_SERVER")).or_else(|| creds::load().ok().flatten().map(|s| s.server)).ok_or(ClientError::NoServer)?;
    let conn = Conn { server: Some(server.clone()), ..args.conn.clone() };
    let api = conn.connect()?;
    let password = password(args)?;
    let mut answer = api.post("/auth/login", &json!({"username": args.username, "password": password}))?;
    if answer["status"] == "mfa_required" {
        let code = mfa_code()?;
        answer = api.post("/auth/login/mfa", &json!({"challenge": answer["challenge"], "code": code}))?;
    }
    let token = answer["token"].as_str().ok_or_else(|| ClientError::Answer("the login answer has no token".into()))?;
    let ca_file = conn.ca_file.clone().or_else(|| env("FLEET_CA_FILE").map(Into::into));
    let ca_file = ca_file.map(|p| std::fs::canonicalize(&p).unwrap_or(p));
    let stored = creds::Stored { server: api.base.clone(), token: Some(token.to_string()), username: args.username.clone(), ca_file };
    let path = creds::save(&stored)?;
    if conn.json() {
        print_json(&json!({"server": api.base, "username": args.username, "credentials": path}));
    } else {
        println!("logged in to {} as {} (session stored in {})", api.base, args.username, path.display());
        if answer["mfa_enrolment_required"] == true {
            println!("this session may only enrol a second factor: do so in the web UI or through the API");
        }
    }
    Ok(())
}

/// Ends the session on the server and forgets its token.
pub(crate) fn logout(conn: &Conn) -> Result<(), ClientError> {
    let api = conn.connect()?;
    if api.has_token() {
        match api.post("/auth/logout", &Value::Null) {
            // A session that already ended is as good as ended.
            Ok(_) | Err(ClientError::Api { status: 401, .. }) => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(mut stored) = creds::load()? {
        stored.token = None;
        creds::save(&stored)?;
    }
    if conn.json() {
        print_json(&json!({"server": api.base, "logged_out": true}));
    } else {
        println!("logged out of {}", api.base);
    }
    Ok(())
}

/// Prints the user the token belongs to.
pub(crate) fn whoami(conn: &Conn) -> Result<(), ClientError> {
    let api = conn.connect()?;
    let me = api.get("/auth/me")?;
    if conn.json() {
        print_json(&me);
        return Ok(());
    }
    let pool_roles: Vec<String> = me["pool_roles"].as_array().into_iter().flatten().map(|r| format!("{}@pool {}", cell(&r["role"]), r["pool_id"])).collect();
    let row = vec![cell(&me["username"]), cell(&me["role"]), if pool_roles.is_empty() { "-".into() } else { pool_roles.join(", ") }, api.base.clone()];
    print_table(&["USER", "ROLE", "POOL ROLES", "SERVER"], &[row]);
    Ok(())
}
