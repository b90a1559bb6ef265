//! The configuration: the TOML file, then the command line on top of it.
//!
//! Beyond the slides (slide 34: "daemons usually use a configuration file on
//! startup"). Every key is optional; an unknown key or a bad value (a `bind` that
//! `inet_aton` refuses included) is an error that names the key, exit 78
//! (`EX_CONFIG`); the same address given with `--bind` is the lecture's exit 10.
//! `step05-daemon.toml` in this crate shows every key with its default.

use std::fmt;
use std::path::{Path, PathBuf};

use common::error::EX_CONFIG;
use common::inet::inet_aton;
use common::sockaddr::{InAddr, INADDR_ANY};

/// Where diagnostics go (the `log` key, `--log`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Log {
    /// syslog(3), facility daemon (the default); in the foreground, stderr if /dev/log does not answer
    Syslog,
    /// Standard error, with --foreground only (a daemon has none)
    Stderr,
}

/// Everything the daemon needs to know, after the file and the flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// TCP port (0: the kernel chooses).
    pub port: u16,
    /// Address to bind, already through `inet_aton`.
    pub bind: InAddr,
    /// Children alive at most; beyond, the busy answer.
    pub max_clients: u32,
    /// Seconds of silence before a client is dropped (0: never).
    pub timeout: u64,
    /// The file mode creation mask.
    pub umask: u32,
    /// The pid file.
    pub pid_file: PathBuf,
    /// Where diagnostics go.
    pub log: Log,
}

/// What the command line says, each `None` when not given.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--port`.
    pub port: Option<u16>,
    /// `--bind`, already through `inet_aton` (a bad one is the lecture's exit 10, not
    /// a configuration error).
    pub bind: Option<InAddr>,
    /// `--max-clients`.
    pub max_clients: Option<u32>,
    /// `--timeout`.
    pub timeout: Option<u64>,
    /// `--pid-file`.
    pub pid_file: Option<PathBuf>,
    /// `--log`.
    pub log: Option<Log>,
}

/// A configuration that does not load: which file, which key, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    /// `EX_CONFIG`.
    pub fn exit_code(&self) -> u8 {
        EX_CONFIG
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Settings {
    /// The defaults: the lecture's port, every interface, 64 clients, 30 s, umask 027,
    /// a pid file where this user may write, syslog.
    pub fn defaults() -> Settings {
        Settings {
            port: common::PORT,
            bind: INADDR_ANY,
            max_clients: 64,
            timeout: 30,
            umask: 0o027,
            pid_file: default_pid_file(),
            log: Log::Syslog,
        }
    }

    /// Read `file` (if any) over the defaults, then apply the command line.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Settings, ConfigError> {
        let mut settings = Settings::defaults();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                let text = e
                    .raw_os_error()
                    .map_or_else(|| e.to_string(), common::error::strerror);
                ConfigError(format!("config {}: {text}", path.display()))
            })?;
            settings
                .apply_toml(&text)
                .map_err(|message| ConfigError(format!("config {}: {message}", path.display())))?;
        }
        let o = overrides.clone();
        settings.port = o.port.unwrap_or(settings.port);
        settings.bind = o.bind.unwrap_or(settings.bind);
        settings.max_clients = o.max_clients.unwrap_or(settings.max_clients);
        settings.timeout = o.timeout.unwrap_or(settings.timeout);
        settings.pid_file = o.pid_file.unwrap_or(settings.pid_file);
        settings.log = o.log.unwrap_or(settings.log);
        Ok(settings)
    }

    /// Apply the keys of a TOML document; the error names the key.
    fn apply_toml(&mut self, text: &str) -> Result<(), String> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            // One line: the message, without the source excerpt toml adds.
            format!("not valid TOML: {}", e.message())
        })?;
        for (key, value) in &table {
            match key.as_str() {
                "port" => self.port = integer(key, value, 0, 65_535)? as u16,
                "bind" => self.bind = address(key, value)?,
                "max_clients" => self.max_clients = integer(key, value, 1, 100_000)? as u32,
                "timeout" => self.timeout = integer(key, value, 0, 86_400)? as u64,
                "umask" => self.umask = octal(key, value)?,
                "pid_file" => self.pid_file = PathBuf::from(string(key, value)?),
                "log" => {
                    self.log = match string(key, value)? {
                        "syslog" => Log::Syslog,
                        "stderr" => Log::Stderr,
                        other => {
                            return Err(format!(
                                "key 'log': expected \"syslog\" or \"stderr\", got \"{other}\""
                            ))
                        }
                    }
                }
                other => return Err(format!("unknown key '{other}'")),
            }
        }
        Ok(())
    }
}

fn integer(key: &str, value: &toml::Value, min: i64, max: i64) -> Result<i64, String> {
    match value.as_integer() {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "key '{key}': expected an integer from {min} to {max}, got {}",
            describe(value)
        )),
    }
}

fn string<'v>(key: &str, value: &'v toml::Value) -> Result<&'v str, String> {
    value
        .as_str()
        .ok_or_else(|| format!("key '{key}': expected a string, got {}", describe(value)))
}

/// An address as `inet_aton` reads it; a bad one is this key's error, not exit 10.
fn address(key: &str, value: &toml::Value) -> Result<InAddr, String> {
    let text = string(key, value)?;
    inet_aton(text).map_err(|_| format!("key '{key}': invalid address '{text}'"))
}

/// A value as the error message shows it.
fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("\"{s}\""),
        toml::Value::Integer(n) => n.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::Datetime(d) => d.to_string(),
        toml::Value::Array(_) => "an array".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}

/// `"027"` → 0o027. A string, because TOML has no octal integers that read well and
/// `umask = 027` would be the decimal 27.
fn octal(key: &str, value: &toml::Value) -> Result<u32, String> {
    let text = string(key, value)?;
    let digits = text.strip_prefix("0o").unwrap_or(text);
    match u32::from_str_radix(digits, 8) {
        Ok(mask) if mask <= 0o777 && !digits.is_empty() => Ok(mask),
        _ => Err(format!(
            "key '{key}': expected an octal string from \"000\" to \"777\", got \"{text}\""
        )),
    }
}

/// `/run/step05-daemon.pid` for root, else `/tmp/step05-daemon-UID.pid`.
fn default_pid_file() -> PathBuf {
    let uid = nix::unistd::geteuid();
    if uid.is_root() {
        PathBuf::from("/run/step05-daemon.pid")
    } else {
        PathBuf::from(format!("/tmp/step05-daemon-{uid}.pid"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, String> {
        let mut settings = Settings::defaults();
        settings.apply_toml(text).map(|()| settings)
    }

    #[test]
    fn every_key_is_read() {
        let s = parse(
            "port = 8080\nbind = \"127.0.0.1\"\nmax_clients = 5\ntimeout = 7\n\
             umask = \"077\"\npid_file = \"/tmp/x.pid\"\nlog = \"stderr\"\n",
        )
        .unwrap();
        assert_eq!(
            s,
            Settings {
                port: 8080,
                bind: std::net::Ipv4Addr::LOCALHOST.into(),
                max_clients: 5,
                timeout: 7,
                umask: 0o077,
                pid_file: "/tmp/x.pid".into(),
                log: Log::Stderr,
            }
        );
    }

    /// Each bad line → the error names its key.
    #[test]
    fn bad_values_name_their_key() {
        let table = [
            ("colour = 1", "unknown key 'colour'"),
            ("port = 70000", "key 'port'"),
            ("port = \"80\"", "key 'port'"),
            ("max_clients = 0", "key 'max_clients'"),
            ("timeout = -1", "key 'timeout'"),
            ("umask = 27", "key 'umask'"),
            ("umask = \"999\"", "key 'umask'"),
            ("umask = \"\"", "key 'umask'"),
            ("log = \"file\"", "key 'log'"),
            ("bind = 127", "key 'bind'"),
            (
                "bind = \"1.2.3.256\"",
                "key 'bind': invalid address '1.2.3.256'",
            ),
            ("port = ", "not valid TOML"),
        ];
        for (line, expected) in table {
            let err = parse(line).unwrap_err();
            assert!(err.contains(expected), "{line:?}: {err}");
        }
    }

    #[test]
    fn the_command_line_overrides_the_file() {
        let dir = std::env::temp_dir().join(format!("cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("d.toml");
        std::fs::write(
            &file,
            "port = 8080\npid_file = \"/tmp/a.pid\"\nlog = \"stderr\"\n",
        )
        .unwrap();
        let overrides = Overrides {
            port: Some(9090),
            log: Some(Log::Syslog),
            ..Overrides::default()
        };
        let s = Settings::load(Some(&file), &overrides).unwrap();
        assert_eq!(
            (s.port, s.pid_file.as_path(), s.log),
            (9090, Path::new("/tmp/a.pid"), Log::Syslog)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_file_is_a_config_error() {
        let err = Settings::load(
            Some(Path::new("/nonexistent/d.toml")),
            &Overrides::default(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "config /nonexistent/d.toml: No such file or directory"
        );
        assert_eq!(err.exit_code(), 78);
    }
}
