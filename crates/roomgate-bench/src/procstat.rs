//! CPU time and memory of the server under test, from `/proc` (Linux only).
use std::{fs, time::Duration};

/// Clock ticks per second of `utime`/`stime` in `/proc/<pid>/stat`.
pub fn clock_ticks_per_sec() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .filter(|&t| t > 0)
        .unwrap_or(100)
}

/// The fields of `/proc/<pid>/stat` after the command name (field 3 onwards).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// utime + stime of `pid` (every thread, live or exited), in ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let f = stat_fields(pid)?;
    // Fields 14 and 15 of the whole line are 12 and 13 here (0-based after the name: state is 0).
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// The processes of one server: a single pid, or a parent and its children (Node's cluster workers).
#[derive(Clone, Debug)]
pub struct Processes {
    pids: Vec<u32>,
    ticks_per_sec: u64,
}

impl Processes {
    /// `pid` and every process whose parent it is.
    pub fn tree(pid: u32, ticks_per_sec: u64) -> Self {
        let mut pids = vec![pid];
        if let Ok(dir) = fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let Some(child) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                    continue;
                };
                let parent = stat_fields(child).and_then(|f| f.get(1)?.parse::<u32>().ok());
                if parent == Some(pid) {
                    pids.push(child);
                }
            }
        }
        Self { pids, ticks_per_sec }
    }

    /// Every process whose command name is `comm` (e.g. `postgres`: the server and its backends).
    pub fn named(comm: &str, ticks_per_sec: u64) -> Self {
        let mut pids = Vec::new();
        if let Ok(dir) = fs::read_dir("/proc") {
            for entry in dir.flatten() {
                let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
                    continue;
                };
                let name = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                if name.trim() == comm {
                    pids.push(pid);
                }
            }
        }
        Self { pids, ticks_per_sec }
    }

    /// How many processes are counted.
    pub fn len(&self) -> usize {
        self.pids.len()
    }

    /// Total CPU time (user + system) used so far.
    pub fn cpu(&self) -> Duration {
        let ticks: u64 = self.pids.iter().filter_map(|&p| cpu_ticks(p)).sum();
        Duration::from_secs_f64(ticks as f64 / self.ticks_per_sec as f64)
    }

    /// Sum over the processes of a `/proc/<pid>/status` field given in kB, in bytes.
    fn status_kib(&self, field: &str) -> u64 {
        self.pids
            .iter()
            .filter_map(|p| fs::read_to_string(format!("/proc/{p}/status")).ok())
            .filter_map(|s| {
                s.lines().find_map(|l| {
                    l.strip_prefix(field)?
                        .trim()
                        .strip_suffix("kB")?
                        .trim()
                        .parse::<u64>()
                        .ok()
                })
            })
            .sum::<u64>()
            * 1024
    }

    /// Resident memory now (VmRSS), bytes.
    pub fn rss(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// Peak resident memory since start (VmHWM), bytes.
    pub fn peak_rss(&self) -> u64 {
        self.status_kib("VmHWM:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = Processes::tree(std::process::id(), clock_ticks_per_sec());
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(me.rss() > 0);
        assert!(me.peak_rss() >= me.rss());
        assert!(me.cpu() < Duration::from_secs(3600));
    }
}
