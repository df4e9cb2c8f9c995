//! How a node gets an agent: the enrolment's install command, and the install script a server
//! hands out at `/install/agent.sh` with the agent binary at `/install/fleet-agent`.
//!
//! ```text
//! admin: POST /clusters/{id}/enrollments -> command (fleet-agent already on the node)
//!                                        -> script_command: curl the script, sha256sum -c, sh it
//! node:  sh agent.sh --enroll-secret S ...  -> curl /install/fleet-agent, check its SHA-256
//!        -> /usr/local/bin/fleet-agent + systemd unit + /etc/default/fleet-agent
//!        -> fleet-agent --enroll-only (token in /var/lib/fleet-agent) -> systemctl enable --now
//! ```
//!
//! Nothing here trusts the transport: the operator checks the script against the SHA-256 the
//! authenticated enrolment answer showed (so no curl-pipe-to-shell), and the script checks the
//! binary against the SHA-256 written into it. `curl -k` against a self-signed server is
//! therefore safe for the download; the agent itself pins the server's CA for everything after.
//! The one-time secret is an argument, never part of the script: the script is public.

use crate::fingerprint::CaFingerprint;
use crate::model::{ClusterSettings, ReloadMode};
use crate::secret::sha256_hex;

/// Path of the install script on the server.
pub const SCRIPT_PATH: &str = "/install/agent.sh";
/// Path of the agent binary on the server.
pub const AGENT_PATH: &str = "/install/fleet-agent";
/// Where the script installs the binary (`/usr/bin` belongs to the `fleet-agent` package).
pub const INSTALL_BIN: &str = "/usr/local/bin/fleet-agent";
/// The agent's state directory: token (0600), backups, master socket.
pub const STATE_DIR: &str = "/var/lib/fleet-agent";

/// The agent binary a server hands out: its SHA-256 (lowercase hex) and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentDownload {
    /// SHA-256 of the file's bytes, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// What an enrolment answer says about the install script, when the server hands one out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptInstall {
    /// The script's URL (`<server>/install/agent.sh`).
    pub url: String,
    /// SHA-256 of the script's bytes, lowercase hex: compare before running it.
    pub sha256: String,
    /// One line for a root shell on the node: download, check, run with the one-time secret.
    pub command: String,
}

/// The cluster's agent arguments an install command carries (`--config-path`, `--haproxy-mode`).
fn cluster_args(settings: &ClusterSettings) -> String {
    let mode = match settings.reload_mode {
        ReloadMode::Process => "process",
        ReloadMode::Systemd => "systemd",
    };
    format!("--config-path {} --haproxy-mode {mode}", shell_quote(&settings.config_path))
}

/// The shell command that runs an agent already installed on a node: `fleet-agent` enrols with
/// the one-time secret, stores its token under the state directory and starts following the
/// cluster. With `ca` (the server's self-signed CA) the agent pins it (`--ca-fingerprint
/// sha256:...`), so the enrolment cannot be intercepted by anyone holding another certificate for
/// the address.
pub fn command(server_url: &str, secret: &str, settings: &ClusterSettings, ca: Option<&CaFingerprint>) -> String {
    let pin = ca.map(|ca| format!(" --ca-fingerprint {ca}")).unwrap_or_default();
    format!(
        "fleet-agent --server {}{pin} --enroll-secret {} --state-dir {STATE_DIR} {}",
        shell_quote(server_url.trim_end_matches('/')),
        shell_quote(secret),
        cluster_args(settings),
    )
}

/// The install script for agents of the server at `server_url`, handing out `agent`; `unit` is
/// the text of the agent's systemd unit (its `ExecStart` names `/usr/bin/fleet-agent`, rewritten
/// to [`INSTALL_BIN`]). The same inputs give the same bytes, so the SHA-256 an enrolment answer
/// shows is the script's the node downloads.
pub fn script(server_url: &str, agent: &AgentDownload, ca: Option<&CaFingerprint>, unit: &str) -> String {
    let server = server_url.trim_end_matches('/');
    let pin = ca.map(|ca| format!(" --ca-fingerprint {ca}")).unwrap_or_default();
    let insecure = if ca.is_some() { " -k" } else { "" };
    let unit = unit.replace("/usr/bin/fleet-agent", INSTALL_BIN);
    SCRIPT_TEMPLATE
        .replace("@SERVER@", &shell_quote(server))
        .replace("@SHA256@", &agent.sha256)
        .replace("@SIZE@", &agent.size.to_string())
        .replace("@PIN@", pin.trim_start())
        .replace("@CURL_INSECURE@", insecure.trim_start())
        .replace("@BIN@", INSTALL_BIN)
        .replace("@STATE@", STATE_DIR)
        .replace("@UNIT@", unit.trim_end())
}

/// The enrolment's script install: the URL, the script's SHA-256 and the line an operator runs
/// as root on the node.
pub fn script_install(server_url: &str, script: &str, secret: &str, settings: &ClusterSettings, ca: Option<&CaFingerprint>) -> ScriptInstall {
    let url = format!("{}{SCRIPT_PATH}", server_url.trim_end_matches('/'));
    let sha256 = sha256_hex(script.as_bytes());
    let insecure = if ca.is_some() { "k" } else { "" };
    let command = format!(
        "curl -fsSL{insecure} -o fleet-agent-install.sh {} && echo '{sha256}  fleet-agent-install.sh' | sha256sum -c - && sh fleet-agent-install.sh --enroll-secret {} {}",
        shell_quote(&url),
        shell_quote(secret),
        cluster_args(settings),
    );
    ScriptInstall { url, sha256, command }
}

/// Quotes a word for a POSIX shell when it needs it.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | '=' | ',' | '+'));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// The script, with `@NAME@` holes [`script`] fills. POSIX sh: Debian's dash runs it.
const SCRIPT_TEMPLATE: &str = r#"#!/bin/sh
# Installs the HAProxy Fleet agent from @SERVER@ and enrols it in a cluster.
#
#   sh fleet-agent-install.sh --enroll-secret SECRET [fleet-agent arguments ...]
#   sh fleet-agent-install.sh --uninstall
#
# Downloads fleet-agent (@SIZE@ bytes) from the same server and refuses it unless its SHA-256
# is the one written below; installs it as @BIN@ with a systemd unit and
# /etc/default/fleet-agent; enrols with the one-time secret (the token is kept in @STATE@,
# mode 0600); then enables and starts the unit where systemd runs. Run it as root.
set -eu

server=@SERVER@
agent_sha256=@SHA256@
pin='@PIN@'
bin=@BIN@
state=@STATE@
unit=/etc/systemd/system/fleet-agent.service
defaults=/etc/default/fleet-agent

die() {
    echo "fleet-agent-install: error: $*" >&2
    exit 1
}

[ "$(id -u)" -eq 0 ] || die "run it as root: it installs $bin and $unit"
systemd=no
[ -d /run/systemd/system ] && systemd=yes

if [ "${1:-}" = "--uninstall" ]; then
    if [ "$systemd" = yes ]; then
        systemctl disable --now fleet-agent.service 2>/dev/null || true
    fi
    rm -f "$bin" "$unit" "$defaults"
    if [ "$systemd" = yes ]; then
        systemctl daemon-reload
    fi
    echo "fleet-agent removed; its token and backups stay in $state (remove it to forget the enrolment)"
    exit 0
fi

secret=""
args=""
while [ $# -gt 0 ]; do
    case "$1" in
        --enroll-secret)
            [ $# -ge 2 ] || die "--enroll-secret needs a value"
            secret="$2"
            shift 2
            ;;
        --enroll-secret=*)
            secret="${1#*=}"
            shift
            ;;
        --server|--server=*|--state-dir|--state-dir=*)
            die "$1 is set by this script"
            ;;
        *)
            case "$1" in
                *[!A-Za-z0-9_./:@=,+-]*|"") die "argument '$1' holds a character /etc/default/fleet-agent cannot carry" ;;
            esac
            args="$args $1"
            shift
            ;;
    esac
done
[ -n "$secret" ] || die "usage: sh fleet-agent-install.sh --enroll-secret SECRET [fleet-agent arguments ...]"
command -v curl >/dev/null 2>&1 || die "curl is needed to download the agent"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is needed to check the agent"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The checksum below, not the transport, vouches for the binary.
curl -fsS @CURL_INSECURE@ -o "$work/fleet-agent" "$server/install/fleet-agent" \
    || die "could not download $server/install/fleet-agent"
got=$(sha256sum "$work/fleet-agent" | cut -d ' ' -f 1)
[ "$got" = "$agent_sha256" ] \
    || die "fleet-agent from $server has SHA-256 $got, not $agent_sha256: nothing was installed"

chmod 0755 "$work/fleet-agent"
mkdir -p "$(dirname "$bin")"
# Same file system as $bin: the rename replaces a running binary atomically.
cp "$work/fleet-agent" "$bin.new"
mv -f "$bin.new" "$bin"

cat > "$unit.new" <<'UNIT'
@UNIT@
UNIT
mv -f "$unit.new" "$unit"

agent_args="--server $server${pin:+ $pin}$args"
if [ -f "$defaults" ] && ! grep -qxF "FLEET_AGENT_ARGS=\"$agent_args\"" "$defaults"; then
    cp -p "$defaults" "$defaults.before-install"
    echo "kept the previous $defaults as $defaults.before-install"
fi
printf '# Written by fleet-agent-install.sh for %s\nFLEET_AGENT_ARGS="%s"\n' "$server" "$agent_args" > "$defaults.new"
mv -f "$defaults.new" "$defaults"

mkdir -p "$state"
chmod 0700 "$state"
# shellcheck disable=SC2086 # the arguments were checked to hold no blanks
"$bin" --state-dir "$state" $agent_args --enroll-secret "$secret" --enroll-only

if [ "$systemd" = yes ]; then
    systemctl daemon-reload
    systemctl enable --now fleet-agent.service
    echo "fleet-agent is enrolled and running (systemctl status fleet-agent)"
else
    echo "fleet-agent is enrolled; systemd is not running here, so start it with:"
    echo "  $bin --state-dir $state $agent_args"
fi
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_quotes_what_needs_it() {
        let settings = ClusterSettings { config_path: "/etc/my haproxy.cfg".into(), ..ClusterSettings::default() };
        let line = command("http://10.0.0.1:8080/", "fe_abc", &settings, None);
        assert_eq!(
            line,
            "fleet-agent --server http://10.0.0.1:8080 --enroll-secret fe_abc --state-dir /var/lib/fleet-agent \
             --config-path '/etc/my haproxy.cfg' --haproxy-mode process"
        );
        let ca = CaFingerprint::of_der(b"abc");
        let pinned = command("https://fleet.example:8443", "fe_abc", &settings, Some(&ca));
        assert!(
            pinned.starts_with(
                "fleet-agent --server https://fleet.example:8443 --ca-fingerprint \
                 sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad --enroll-secret fe_abc "
            ),
            "{pinned}"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn script_is_filled_and_names_its_binary() {
        let agent = AgentDownload { sha256: "ab".repeat(32), size: 42 };
        let unit = "[Service]\nExecStart=/usr/bin/fleet-agent --state-dir /var/lib/fleet-agent $FLEET_AGENT_ARGS\n";
        let text = script("https://fleet.example:8443/", &agent, None, unit);
        for hole in ["@SERVER@", "@SHA256@", "@SIZE@", "@PIN@", "@CURL_INSECURE@", "@BIN@", "@STATE@", "@UNIT@"] {
            assert!(!text.contains(hole), "{hole} left in the script");
        }
        assert!(text.contains(&format!("agent_sha256={}", "ab".repeat(32))));
        assert!(text.contains("ExecStart=/usr/local/bin/fleet-agent --state-dir"), "{text}");
        assert!(text.contains("server=https://fleet.example:8443\n"));
        assert!(!text.contains(" -k "), "no -k without a pinned CA");
        let ca = CaFingerprint::of_der(b"abc");
        let pinned = script("https://fleet.example:8443", &agent, Some(&ca), unit);
        assert!(pinned.contains("curl -fsS -k -o"));
        assert!(pinned.contains(&format!("pin='--ca-fingerprint {ca}'")));
        assert_eq!(script("https://fleet.example:8443", &agent, None, unit), text, "same inputs, same bytes");
    }

    #[test]
    fn script_install_checks_the_script_before_running_it() {
        let settings = ClusterSettings::default();
        let install = script_install("http://10.0.0.1:8080/", "#!/bin/sh\n", "fe_x'y", &settings, None);
        assert_eq!(install.url, "http://10.0.0.1:8080/install/agent.sh");
        assert_eq!(install.sha256, sha256_hex(b"#!/bin/sh\n"));
        assert_eq!(
            install.command,
            format!(
                "curl -fsSL -o fleet-agent-install.sh http://10.0.0.1:8080/install/agent.sh && echo '{}  fleet-agent-install.sh' \
                 | sha256sum -c - && sh fleet-agent-install.sh --enroll-secret 'fe_x'\\''y' --config-path /etc/haproxy/haproxy.cfg \
                 --haproxy-mode process",
                install.sha256
            )
        );
    }
}
