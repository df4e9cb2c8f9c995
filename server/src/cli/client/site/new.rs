//! `fleet site new NAME --domain D --backend ADDR ...`: a starter site the operator owns
//! afterwards (OpenManager's wizard, as files): `NAME/fleet.toml` declaring a pool and a cluster
//! NAME, and `NAME/NAME/haproxy.cfg`, an HTTP frontend for the domain balancing over the
//! backends, which `fleet config check` and the server's gate accept as it is.
//!
//! With `--tls acme` the site also declares an ACME account (Let's Encrypt unless
//! `--acme-directory`) and a certificate for the domain, ordered into the cluster; the config
//! binds :443 with it and redirects :80 to HTTPS, except the CA's HTTP-01 requests, which the
//! managed challenge rule (fleet-core `certs::acme::http01`, written here as the server would
//! insert it) answers from the empty map `acme/http-01.map` shipped beside the config. Until
//! the CA issues, :443 serves a self-signed placeholder the plan uploads.

use std::path::PathBuf;

use super::super::ClientError;

/// `fleet site new`.
#[derive(Debug, clap::Args)]
pub(crate) struct SiteArgs {
    /// The site's name: its folder and its cluster (1-100 letters, digits, `-`, `_` or `.`).
    name: String,
    /// The domain the site answers for.
    #[arg(long)]
    domain: String,
    /// A backend server `HOST:PORT` (repeat for several).
    #[arg(long = "backend", value_name = "ADDR", required = true)]
    backends: Vec<String>,
    /// The pool the cluster goes into.
    #[arg(long, default_value = "default")]
    pool: String,
    /// The port HAProxy listens on (without --tls; with it: 80 and 443).
    #[arg(long, default_value_t = 80)]
    port: u16,
    /// Write into an existing folder (files there are replaced).
    #[arg(long)]
    force: bool,
    /// TLS for the domain: `acme` orders a certificate from an ACME CA.
    #[arg(long, value_enum)]
    tls: Option<Tls>,
    /// With --tls acme: the CA's directory URL.
    #[arg(long, value_name = "URL", default_value = LETS_ENCRYPT)]
    acme_directory: String,
    /// With --tls acme: the account's contact address (default `hostmaster@DOMAIN`).
    #[arg(long, value_name = "EMAIL")]
    acme_contact: Option<String>,
}

/// How the starter site serves TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Tls {
    /// A certificate ordered from an ACME CA (HTTP-01 through the cluster's own :80).
    Acme,
}

const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 100 && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The site file of a new site.
fn site_file(args: &SiteArgs) -> String {
    format!(
        "# The site {name}: `fleet plan -f fleet.toml` shows what would change, `fleet apply -f fleet.toml`\n\
         # makes the server match. The cluster's files are in the folder `{name}` beside this file.\n\n\
         [[pool]]\nname = \"{pool}\"\n\n\
         [[cluster]]\nname = \"{name}\"\npool = \"{pool}\"\nconfig = \"{name}\"\n\
         # config_path = \"/etc/haproxy/haproxy.cfg\"\n# reload_mode = \"process\"\n\
         # The agents the cluster should have: an enrolment is made for each one missing.\nagents = []\n{tls}",
        name = args.name,
        pool = args.pool,
        tls = if args.tls == Some(Tls::Acme) { acme_site(args) } else { String::new() },
    )
}

/// The ACME account and certificate of a `--tls acme` site.
fn acme_site(args: &SiteArgs) -> String {
    let contact = args.acme_contact.clone().unwrap_or_else(|| format!("hostmaster@{}", args.domain));
    format!(
        "\n# The CA account certificates are ordered with (registered at the CA on the first apply).\n\
         [[acme_account]]\ndirectory_url = \"{directory}\"\ncontact = [\"{contact}\"]\n\n\
         # A certificate for the domain, proven by HTTP-01 through the frontend {name}_http and deployed\n\
         # at certs/{domain}.pem, which the config binds on :443 (a placeholder serves until it is issued).\n\
         [[certificate]]\nacme = [\"{domain}\"]\naccount = \"{directory}\"\nclusters = [\"{name}\"]\nfrontends = [\"{name}_http\"]\n",
        directory = args.acme_directory,
        name = args.name,
        domain = args.domain,
    )
}

/// The starter configuration.
fn config(args: &SiteArgs) -> String {
    let servers: String = args.backends.iter().enumerate().map(|(i, addr)| format!("    server app{} {addr} check\n", i + 1)).collect();
    let front = match args.tls {
        None => format!("frontend {name}\n    bind :{port}\n", name = args.name, port = args.port),
        Some(Tls::Acme) => format!(
            "frontend {name}_http\n    bind :80\n    {challenge}\n    http-request redirect scheme https code 301\n\n\
             frontend {name}\n    bind :443 ssl crt certs/{domain}.pem\n",
            name = args.name,
            domain = args.domain,
            challenge = fleet_core::certs::acme::http01::rule_words().join(" "),
        ),
    };
    format!(
        "# {domain}: written by `fleet site new`; yours to change.\n\
         global\n    log stdout format raw local0\n    maxconn 4096\n\n\
         defaults\n    mode http\n    log global\n    option httplog\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n\
         {front}    acl site hdr(host) -i {domain}\n    use_backend app if site\n    default_backend app\n\n\
         backend app\n    balance roundrobin\n{servers}",
        domain = args.domain,
    )
}

/// Writes the starter site.
pub(crate) fn new_site(args: &SiteArgs) -> Result<(), ClientError> {
    if !valid_name(&args.name) || !valid_name(&args.pool) {
        return Err(ClientError::Usage(format!("{:?} / {:?}: names are 1-100 letters, digits, '-', '_' or '.'", args.name, args.pool)));
    }
    let root = PathBuf::from(&args.name);
    if root.exists() && !args.force {
        return Err(ClientError::Usage(format!("{} exists: choose another name, or add --force", root.display())));
    }
    let folder = root.join(&args.name);
    let io = |path: &std::path::Path, source| ClientError::Io { path: path.display().to_string(), source };
    std::fs::create_dir_all(&folder).map_err(|e| io(folder.as_path(), e))?;
    let site = root.join("fleet.toml");
    std::fs::write(&site, site_file(args)).map_err(|e| io(site.as_path(), e))?;
    let cfg = folder.join("haproxy.cfg");
    let text = config(args);
    let found = haproxy_parse::check(&text);
    if let Some(d) = found.diagnostics.iter().find(|d| d.is_error()) {
        return Err(ClientError::Usage(format!("the starter configuration would not pass its check: line {}: {}", d.position.line, d.message)));
    }
    std::fs::write(&cfg, text).map_err(|e| io(cfg.as_path(), e))?;
    if args.tls == Some(Tls::Acme) {
        // The challenge map the managed rule reads: empty while no order runs.
        let map = folder.join(fleet_core::certs::acme::http01::CHALLENGE_MAP);
        std::fs::create_dir_all(map.parent().unwrap_or(&folder)).map_err(|e| io(folder.as_path(), e))?;
        std::fs::write(&map, "").map_err(|e| io(map.as_path(), e))?;
    }
    println!("wrote {} and {}", site.display(), cfg.display());
    println!("next: cd {} && fleet plan -f fleet.toml && fleet apply -f fleet.toml", root.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_starter_config_passes_the_offline_check() {
        let args = SiteArgs {
            name: "shop".into(),
            domain: "shop.example.com".into(),
            backends: vec!["10.0.0.1:8080".into(), "10.0.0.2:8080".into()],
            pool: "default".into(),
            port: 80,
            force: false,
            tls: None,
            acme_directory: LETS_ENCRYPT.into(),
            acme_contact: None,
        };
        let found = haproxy_parse::check(&config(&args));
        assert!(!found.diagnostics.iter().any(|d| d.is_error()), "{:?}", found.diagnostics);
        assert!(config(&args).contains("server app2 10.0.0.2:8080 check"));
        let site: super::super::file::Site = toml::from_str(&site_file(&args)).unwrap();
        assert_eq!(site.clusters[0].name.get_ref(), "shop");
        assert!(site.certificates.is_empty());

        let tls = SiteArgs { tls: Some(Tls::Acme), ..args };
        let found = haproxy_parse::check(&config(&tls));
        assert!(!found.diagnostics.iter().any(|d| d.is_error()), "{:?}", found.diagnostics);
        assert!(config(&tls).contains("bind :443 ssl crt certs/shop.example.com.pem"), "{}", config(&tls));
        let site: super::super::file::Site = toml::from_str(&site_file(&tls)).unwrap();
        assert_eq!(site.certificates[0].acme_names(), Some(&["shop.example.com".to_string()][..]));
        assert_eq!(site.acme_accounts[0].directory_url.get_ref(), LETS_ENCRYPT);
    }
}
