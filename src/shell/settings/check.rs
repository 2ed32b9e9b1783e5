//! What a setting may be, checked once for the file and the flags together: each refusal names the
//! key, the value and what is allowed.

use std::path::PathBuf;

use super::Settings;

/// Why the settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the configuration file {}: {error}", path.display())]
    Read { path: PathBuf, error: String },
    #[error("configuration file {}: {error}", path.display())]
    Parse { path: PathBuf, error: String },
    #[error("{key} = {value} is not allowed: {allowed}")]
    Invalid {
        key: &'static str,
        value: String,
        allowed: String,
    },
}

impl SettingsError {
    /// The key a refused value was given for, if that is what is wrong.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            SettingsError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// At least `min` (`what` names the unit).
fn at_least(key: &'static str, value: u64, min: u64, what: &str) -> Result<(), SettingsError> {
    if value < min {
        return Err(SettingsError::Invalid {
            key,
            value: value.to_string(),
            allowed: format!("at least {min} {what}"),
        });
    }
    Ok(())
}

/// From `min` to `max` (`what` names the unit).
fn within(
    key: &'static str,
    value: u64,
    min: u64,
    max: u64,
    what: &str,
) -> Result<(), SettingsError> {
    if !(min..=max).contains(&value) {
        return Err(SettingsError::Invalid {
            key,
            value: value.to_string(),
            allowed: format!("from {min} to {max} {what}"),
        });
    }
    Ok(())
}

impl Settings {
    /// Checks every value (see the [module documentation](self)).
    pub fn check(&self) -> Result<(), SettingsError> {
        let (s, l, ss, m, f) = (
            &self.server,
            &self.login,
            &self.sessions,
            &self.limits,
            &self.flood,
        );
        if s.bind.is_empty() {
            return Err(SettingsError::Invalid {
                key: "server.bind",
                value: "[]".into(),
                allowed:
                    "at least one address to listen on (\"127.0.0.1\", \"::\", \"0.0.0.0\"...)"
                        .into(),
            });
        }
        if s.tls_cert.is_some() != s.tls_key.is_some() {
            return Err(SettingsError::Invalid {
                key: if s.tls_cert.is_some() {
                    "server.tls_key"
                } else {
                    "server.tls_cert"
                },
                value: "(not set)".into(),
                allowed:
                    "tls_cert and tls_key go together: give both, or neither (the server then \
                          makes its own certificate)"
                        .into(),
            });
        }
        for op in &s.operators {
            let ok = op.split_once(' ').is_some_and(|(name, hash)| {
                natter_core::protocol::name::check_username(name).is_ok()
                    && natter_core::password::is_hash(hash.trim())
                    && natter_core::password::check_hash_syntax(hash.trim()).is_ok()
            });
            if !ok {
                return Err(SettingsError::Invalid {
                    key: "server.operators",
                    value: op.split(' ').next().unwrap_or("").to_owned() + " ...",
                    allowed: "'name hash': a username, a space and its password's argon2id hash                               (`natter-server hash-password NAME` prints such a line; a password                               in the clear is refused)"
                        .into(),
                });
            }
        }
        if s.plaintext && s.tls_cert.is_some() {
            return Err(SettingsError::Invalid {
                key: "server.plaintext",
                value: "true".into(),
                allowed:
                    "false when tls_cert and tls_key are given (plain text has no certificate)"
                        .into(),
            });
        }
        if !natter_core::irc::IrcSettings::valid_name(&s.irc_server_name) {
            return Err(SettingsError::Invalid {
                key: "server.irc_server_name",
                value: s.irc_server_name.clone(),
                allowed: "one word of letters, digits, '.', '-' and '_', at most 63 bytes (a host \
                          name, such as irc.example.org)"
                    .into(),
            });
        }
        at_least("server.max_outbound", s.max_outbound, 4096, "bytes")?;
        at_least("server.max_password_jobs", s.max_password_jobs, 1, "jobs")?;
        if let Some(n) = s.password_threads {
            within("server.password_threads", n, 1, 256, "threads")?;
        }
        at_least("login.login_timeout", l.login_timeout, 1, "seconds")?;
        within(
            "login.min_password_length",
            l.min_password_length,
            1,
            1024,
            "characters",
        )?;
        at_least(
            "login.account_login_refill",
            l.account_login_refill,
            1,
            "seconds",
        )?;
        at_least(
            "login.address_login_refill",
            l.address_login_refill,
            1,
            "seconds",
        )?;
        at_least(
            "login.failed_login_refill",
            l.failed_login_refill,
            1,
            "seconds",
        )?;
        at_least(
            "login.new_connection_rate",
            u64::from(l.new_connection_rate),
            1,
            "a second",
        )?;
        at_least(
            "login.registration_refill",
            l.registration_refill,
            1,
            "seconds",
        )?;
        at_least("sessions.timeout", ss.timeout, 1, "seconds")?;
        // (An idle warning longer than half the timeout is shortened to that by the core.)
        at_least("sessions.private_timeout", ss.private_timeout, 1, "seconds")?;
        within("limits.max_line", m.max_line, 64, 1_048_576, "bytes")?;
        at_least("limits.mailbox_limit", m.mailbox_limit, 1, "messages")?;
        within(
            "limits.mailbox_share",
            u64::from(m.mailbox_share),
            1,
            100,
            "percent",
        )?;
        within(
            "limits.group_max_members",
            m.group_max_members,
            2,
            1_000_000,
            "members",
        )?;
        at_least("flood.flood_burst", u64::from(f.flood_burst), 1, "commands")?;
        at_least(
            "flood.bookkeeping_rate",
            u64::from(f.bookkeeping_rate),
            1,
            "a second",
        )?;
        at_least(
            "flood.bookkeeping_burst",
            u64::from(f.bookkeeping_burst),
            1,
            "lines",
        )?;
        if !log_level_ok(&self.log.level) {
            return Err(SettingsError::Invalid {
                key: "log.level",
                value: format!("{:?}", self.log.level),
                allowed: "off, error, warn, info, debug, trace, or a filter of them such as \
                          \"info,natter=debug\""
                    .into(),
            });
        }
        let c = &self.cluster;
        if c.url.is_none() {
            for (key, set) in [
                ("cluster.ca", c.ca.is_some()),
                ("cluster.key_file", c.key_file.is_some()),
                ("cluster.node", c.node.is_some()),
            ] {
                if set {
                    return Err(SettingsError::Invalid {
                        key,
                        value: "(set)".into(),
                        allowed: "only with cluster.url (cluster mode)".into(),
                    });
                }
            }
        }
        at_least("cluster.snapshot_every", c.snapshot_every, 1, "entries")?;
        Ok(())
    }
}

/// A level, or a filter whose every part is a level or `target=level` (a bare word would be read
/// as a target at the most verbose level: a typo must not turn the log up).
fn log_level_ok(level: &str) -> bool {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let is_level = |w: &str| LEVELS.contains(&w.trim().to_ascii_lowercase().as_str());
    !level.trim().is_empty()
        && level.split(',').all(|part| match part.split_once('=') {
            Some((target, lvl)) => !target.trim().is_empty() && is_level(lvl),
            None => is_level(part),
        })
        && tracing_subscriber::EnvFilter::try_new(level).is_ok()
}
