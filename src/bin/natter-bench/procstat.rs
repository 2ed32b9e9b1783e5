//! What the kernel says about a process: CPU seconds and resident memory from `/proc`, and the open-file
//! limit.
//!
//! The server's figures come from `/proc/PID/stat` (utime + stime) and `/proc/PID/status` (`VmRSS`, and
//! `VmHWM`, the peak). They are sampled by the generator before and after a phase, so the figures cover
//! exactly the measured interval, whatever else the server did before.

use std::io;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// One reading of a process's counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sample {
    /// User + system CPU time so far, in seconds.
    pub cpu_secs: f64,
    /// Resident memory now, in KiB.
    pub rss_kib: u64,
    /// The highest resident memory since the process started (or since the peak was last reset), in KiB.
    pub hwm_kib: u64,
}

/// A process to sample: another one (`--server-pid`) or this one.
#[derive(Clone, Debug)]
pub struct Proc {
    dir: PathBuf,
    pub pid: u32,
}

impl Proc {
    pub fn new(pid: u32) -> Result<Proc> {
        let dir = PathBuf::from(format!("/proc/{pid}"));
        if !dir.join("stat").exists() {
            bail!(
                "no process {pid} (nothing at {}): is the server running?",
                dir.display()
            );
        }
        Ok(Proc { dir, pid })
    }

    pub fn this() -> Proc {
        Proc {
            dir: PathBuf::from("/proc/self"),
            pid: std::process::id(),
        }
    }

    pub fn sample(&self) -> Result<Sample> {
        let stat = std::fs::read_to_string(self.dir.join("stat"))
            .with_context(|| format!("reading {}/stat", self.dir.display()))?;
        let status = std::fs::read_to_string(self.dir.join("status"))
            .with_context(|| format!("reading {}/status", self.dir.display()))?;
        let ticks = parse_cpu_ticks(&stat)
            .with_context(|| format!("unexpected format of {}/stat", self.dir.display()))?;
        Ok(Sample {
            cpu_secs: ticks as f64 / clock_ticks_per_sec(),
            rss_kib: status_kib(&status, "VmRSS:").unwrap_or(0),
            hwm_kib: status_kib(&status, "VmHWM:").unwrap_or(0),
        })
    }

    /// Resets the peak-RSS counter (`VmHWM`) to the current RSS, so a later reading is the peak of what
    /// came after. Needs to own the process or be root; when refused, the peak covers the whole life.
    pub fn reset_peak(&self) -> bool {
        std::fs::write(self.dir.join("clear_refs"), "5").is_ok()
    }

    /// Whether the process still exists (and is not a zombie).
    pub fn alive(&self) -> bool {
        std::fs::read_to_string(self.dir.join("stat"))
            .map(|s| !matches!(stat_state(&s), Some('Z' | 'X')))
            .unwrap_or(false)
    }
}

/// utime + stime (fields 14 and 15) from a `/proc/PID/stat` line. The command name (field 2) may contain
/// spaces and parentheses, so fields are counted from the last `)`.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    // `after` starts at field 3 (state), so field n is fields[n - 3].
    let utime: u64 = fields.get(14 - 3)?.parse().ok()?;
    let stime: u64 = fields.get(15 - 3)?.parse().ok()?;
    Some(utime + stime)
}

fn stat_state(stat: &str) -> Option<char> {
    stat[stat.rfind(')')? + 1..]
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

fn status_kib(status: &str, key: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(key))?;
    line[key.len()..].split_whitespace().next()?.parse().ok()
}

fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// Raises this process's soft open-file limit to the hard one and returns both (soft, hard) after.
pub fn raise_nofile_limit() -> io::Result<(u64, u64)> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: `raised` is a valid rlimit; failure leaves the limit as it was.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            lim = raised;
        }
    }
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// The one-minute load average, to print next to every figure (other work on the machine skews them).
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_ticks_after_a_name_with_spaces() {
        let stat =
            "1234 (my (odd) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 5";
        assert_eq!(parse_cpu_ticks(stat), Some(300));
        assert_eq!(stat_state(stat), Some('S'));
    }

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\n";
        assert_eq!(status_kib(status, "VmRSS:"), Some(1024));
        assert_eq!(status_kib(status, "VmHWM:"), Some(2048));
        assert_eq!(status_kib(status, "VmSwap:"), None);
    }

    #[test]
    fn samples_this_process() {
        let s = Proc::this().sample().unwrap();
        assert!(s.rss_kib > 0);
        assert!(s.hwm_kib >= s.rss_kib);
    }
}
