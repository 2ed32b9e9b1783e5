//! Wall-clock time as people read it, for the stamps on live messages.

use natter_core::time::Timestamp;

/// `YYYY-MM-DD` and `HH:MM:SS` of `at` in the local time zone (UTC if the system cannot say), for
/// the conversation logs.
pub fn local_date_and_time(at: Timestamp) -> (String, String) {
    let secs = (at.as_millis() / 1000) as libc::time_t;
    // SAFETY: as in `local_hhmm`.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        // SAFETY: gmtime_r likewise writes only into `tm`.
        unsafe { libc::gmtime_r(&secs, &mut tm) };
    }
    (
        format!(
            "{:04}-{:02}-{:02}",
            tm.tm_year + 1900,
            tm.tm_mon + 1,
            tm.tm_mday
        ),
        format!("{:02}:{:02}:{:02}", tm.tm_hour, tm.tm_min, tm.tm_sec),
    )
}

/// `HH:MM` of `at` in the local time zone (UTC if the system cannot say).
pub fn local_hhmm(at: Timestamp) -> String {
    let secs = (at.as_millis() / 1000) as libc::time_t;
    // SAFETY: localtime_r reads `secs` and writes only into `tm`, which lives on this stack frame; it is
    // the thread-safe form (no shared static buffer).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if ok {
        format!("{:02}:{:02}", tm.tm_hour, tm.tm_min)
    } else {
        let day_secs = (at.as_millis() / 1000) % 86_400;
        format!("{:02}:{:02}", day_secs / 3600, day_secs % 3600 / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_digits_each() {
        let s = local_hhmm(Timestamp(1_700_000_000_000));
        assert_eq!(s.len(), 5);
        assert_eq!(&s[2..3], ":");
        assert!(s[..2].parse::<u8>().unwrap() < 24);
        assert!(s[3..].parse::<u8>().unwrap() < 60);
    }
}
