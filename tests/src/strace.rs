//! Running a program under `strace -f` and reading back its socket calls.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::process::Launch;

/// The system calls the lecture teaches (plus `accept4`, which is `accept` with flags).
pub const SOCKET_CALLS: &str =
    "trace=socket,setsockopt,bind,listen,accept,accept4,connect,shutdown,close";

/// A file for strace's output, removed when dropped.
pub struct TraceFile(PathBuf);

impl TraceFile {
    /// A fresh path in the temporary directory, unique to this process and `tag`.
    pub fn new(tag: &str) -> TraceFile {
        let path = std::env::temp_dir().join(format!("strace-{}-{tag}.txt", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TraceFile(path)
    }

    /// A launch of `program args` under `strace -f -qq -e SOCKET_CALLS -o FILE`.
    pub fn launch(&self, program: &Path, args: &[&str]) -> Launch {
        let out = self.0.to_string_lossy().into_owned();
        Launch::wrapped(
            &["strace", "-f", "-qq", "-e", SOCKET_CALLS, "-o", &out],
            program,
            args,
        )
    }

    /// The socket calls traced, normalised (see [`normalise`]).
    pub fn socket_calls(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.0)
            .unwrap_or_else(|e| panic!("read {}: {e}", self.0.display()));
        normalise(&text)
    }
}

impl Drop for TraceFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// strace lines reduced to what must match between the C and the Rust program:
/// - the pid prefix of `-f` goes;
/// - `accept4(…, SOCK_CLOEXEC)` becomes `accept(…)` and `SOCK_STREAM|SOCK_CLOEXEC`
///   becomes `SOCK_STREAM` (the Rust side asks for close-on-exec; README says why);
/// - ports become `PORT`;
/// - `close` is kept only for descriptors a `socket` or `accept` returned (the
///   dynamic loader closes files too, before `main`).
pub fn normalise(trace: &str) -> Vec<String> {
    let mut sockets = HashSet::new();
    let mut calls = Vec::new();
    for raw in trace.lines() {
        let line = raw
            .split_once(' ')
            .filter(|(pid, _)| pid.chars().all(|c| c.is_ascii_digit()))
            .map_or(raw, |(_, rest)| rest)
            .trim();
        let Some((name, _)) = line.split_once('(') else {
            continue;
        };
        let result = line.rsplit_once(" = ").map(|(_, r)| r.trim()).unwrap_or("");
        let fd: Option<i32> = result
            .split_whitespace()
            .next()
            .and_then(|r| r.parse().ok());
        let mut call = line
            .replace("|SOCK_CLOEXEC", "")
            .replace(", SOCK_CLOEXEC)", ")")
            .replacen("accept4(", "accept(", 1);
        call = mask_htons(&call);
        match name {
            "socket" | "accept" | "accept4" => {
                if let Some(fd) = fd.filter(|fd| *fd >= 0) {
                    sockets.insert(fd);
                }
            }
            "close" => {
                let arg: Option<i32> = line["close(".len()..]
                    .split(')')
                    .next()
                    .and_then(|a| a.parse().ok());
                if !arg.is_some_and(|a| sockets.remove(&a)) {
                    continue;
                }
            }
            _ => {}
        }
        calls.push(call);
    }
    calls
}

/// `htons(40312)` → `htons(PORT)`, except `htons(0)` (port 0 is part of the lesson).
fn mask_htons(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("htons(") {
        out.push_str(&rest[..at + "htons(".len()]);
        rest = &rest[at + "htons(".len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if &rest[..digits] == "0" {
            out.push('0');
        } else {
            out.push_str("PORT");
        }
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_accept4_cloexec_ports_and_foreign_closes() {
        let trace = "\
100 close(3)                               = 0
100 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3
100 bind(3, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0
100 accept4(3, {sa_family=AF_INET, sin_port=htons(40312), sin_addr=inet_addr(\"127.0.0.1\")}, [16], SOCK_CLOEXEC) = 4
100 close(4)                               = 0
";
        assert_eq!(
            normalise(trace),
            [
                "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3",
                "bind(3, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0",
                "accept(3, {sa_family=AF_INET, sin_port=htons(PORT), sin_addr=inet_addr(\"127.0.0.1\")}, [16]) = 4",
                "close(4)                               = 0",
            ]
        );
    }
}
