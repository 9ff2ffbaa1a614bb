//! CPU time from `/proc` (Linux), to tell a server that rests from one that
//! spins: a busy loop uses a core, 100 ticks a second.

use std::path::Path;

use super::sync::wait_until;

/// CPU time (user + system, in clock ticks, usually 10 ms) from a
/// `/proc/.../stat` file.
fn cpu_ticks(stat_path: &Path) -> u64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)
}

/// CPU time a process has used, in clock ticks.
pub fn process_cpu_ticks(pid: u32) -> u64 {
    cpu_ticks(Path::new(&format!("/proc/{pid}/stat")))
}

/// CPU time the thread of this process with this name has used, in clock
/// ticks (the server's I/O thread is named, see `TestServer::io_thread`).
pub fn thread_cpu_ticks(name: &str) -> u64 {
    let find = || {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .find(|entry| {
                std::fs::read_to_string(entry.path().join("comm"))
                    .unwrap_or_default()
                    .trim()
                    == name
            })
    };
    let mut task = None;
    wait_until(&format!("a thread named {name} runs"), || {
        task = find();
        task.is_some()
    });
    cpu_ticks(&task.unwrap().path().join("stat"))
}
