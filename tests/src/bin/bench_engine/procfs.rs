//! CPU time and memory of a process, read from `/proc`: the kernel's own accounting, so the
//! numbers include everything the process does (threads, allocator, TLS) and nothing the
//! bench itself does.

use std::collections::BTreeMap;

/// Clock ticks per second of the `utime`/`stime` fields.
fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .map_or(100.0, |t| t as f64)
}

/// `utime + stime` of a `stat` line, in seconds, and the `comm` it names.
fn parse_stat(stat: &str) -> Option<(String, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat.get(open + 1..close)?.to_owned();
    // Fields after the comm start at field 3 (state); utime and stime are fields 14 and 15.
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((comm, (utime + stime) / ticks_per_second()))
}

/// CPU seconds (user + system) the process has used so far, all threads included.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat).map(|(_, s)| s)
}

/// The name [`cpu_by_thread`] gives the main thread, whatever the program is called.
pub const MAIN_THREAD: &str = "main";

/// CPU seconds per thread name (`tokio-rt-worker`, `foghorn-db-writ`, …), summed over the
/// threads that share a name; the main thread is [`MAIN_THREAD`]. Threads that already
/// exited are not listed (their time is still in [`cpu_seconds`]).
pub fn cpu_by_thread(pid: u32) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let main = task.file_name().to_str() == Some(pid.to_string().as_str());
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        if let Some((comm, secs)) = parse_stat(&stat) {
            let name = if main { MAIN_THREAD.to_owned() } else { comm };
            *out.entry(name).or_insert(0.0) += secs;
        }
    }
    out
}

/// A `kB` field of `/proc/<pid>/status` in MiB, e.g. `VmHWM` (peak RSS) or `RssAnon`.
pub fn status_mib(pid: u32, field: &str) -> Option<f64> {
    status_field(pid, field)?
        .trim_end_matches("kB")
        .trim()
        .parse::<f64>()
        .ok()
        .map(|kib| kib / 1024.0)
}

/// A raw field of `/proc/<pid>/status`, e.g. `Threads`.
pub fn status_field(pid: u32, field: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_owned())
}

/// The 1-minute load average, to say how busy the machine was during a run.
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
    fn reads_cpu_from_a_stat_line_whose_comm_has_spaces() {
        let line = "42 (tokio runtime) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0";
        let (comm, secs) = parse_stat(line).expect("parsed");
        assert_eq!(comm, "tokio runtime");
        assert!((secs - 300.0 / ticks_per_second()).abs() < 1e-9);
    }
}
