//! strace's lines back into calls, and the calls into rows that compare across two
//! programs: what differs from run to run (descriptor numbers, ports, pids,
//! addresses of buffers) masked, each process's calls kept together.
//!
//! - Descriptors get names by what made them: `sock1` (socket), `conn1` (accept),
//!   in order of creation. Calls on other descriptors (files, stdout, the dynamic
//!   loader's) are left out, except the network calls themselves.
//! - A forked child's calls follow its `fork()` as a block, marked `[child1]`: the
//!   order of one process's calls is fixed, the interleaving of two is not.
//! - `{sa_family=AF_INET, sin_port=htons(40312), sin_addr=inet_addr("127.0.0.1")}`
//!   becomes `{127.0.0.1:PORT}`; the port the program was told keeps its name `P`,
//!   and port 0 stays 0.
//! - A call that a signal interrupted and the kernel restarted (`? ERESTARTSYS`)
//!   is left out: the restart is the next line, and when the signal came is luck.

use std::collections::HashMap;

/// One system call, its `<unfinished ...>` and `<... resumed>` halves joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The process that made it.
    pub pid: i32,
    /// `accept4`.
    pub name: String,
    /// Its arguments as strace printed them, without the parentheses.
    pub args: String,
    /// What follows ` = `: `4`, `-1 ECONNREFUSED (Connection refused)`, or `?` when
    /// the call had not returned when the trace ended.
    pub result: String,
}

/// The calls in a `strace -f -o FILE` trace, in the order they started.
pub fn parse(trace: &str) -> Vec<Call> {
    let mut calls: Vec<Call> = Vec::new();
    let mut unfinished: HashMap<i32, usize> = HashMap::new();
    for line in trace.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.parse::<i32>() else {
            continue;
        };
        let rest = rest.trim_start();
        if let Some(resumed) = rest.strip_prefix("<... ") {
            let (Some((_, tail)), Some(at)) =
                (resumed.split_once(" resumed>"), unfinished.remove(&pid))
            else {
                continue;
            };
            let (args, result) = split_result(tail);
            calls[at].args.push_str(args);
            calls[at].result = result;
        } else if let Some(head) = rest.strip_suffix("<unfinished ...>") {
            let Some((name, args)) = call_name(head) else {
                continue;
            };
            unfinished.insert(pid, calls.len());
            calls.push(Call {
                pid,
                name,
                args: args.to_string(),
                result: "?".into(),
            });
        } else if let Some((name, tail)) = call_name(rest) {
            let (args, result) = split_result(tail);
            calls.push(Call {
                pid,
                name,
                args: args.to_string(),
                result,
            });
        }
    }
    calls
}

/// `name(rest` → (`name`, `rest`), for a line that starts with a call.
fn call_name(text: &str) -> Option<(String, &str)> {
    let (name, rest) = text.split_once('(')?;
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| (name.to_string(), rest))
}

/// `3, {…}, 16)      = 0` → (`3, {…}, 16`, `0`).
fn split_result(tail: &str) -> (&str, String) {
    match tail.rfind(" = ") {
        Some(at) => {
            let args = tail[..at].trim_end();
            let args = args.strip_suffix(')').unwrap_or(args);
            (args, tail[at + 3..].trim().to_string())
        }
        None => (tail.trim_end().trim_end_matches(')'), "?".into()),
    }
}

/// One call as it is compared and shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// What must be equal for two calls to be the same step: the process (`main`,
    /// `child1`), the call, its socket, and the arguments that say what it does
    /// (the option of a `setsockopt`, the side of a `shutdown`).
    pub key: String,
    /// The call's name, for pairing calls that do the same with another name.
    pub name: String,
    /// The process, as shown: empty for the first one, `child1` …
    pub role: String,
    /// The call as shown, masked: `accept(sock1, {127.0.0.1:PORT}, [16]) = conn1`.
    pub text: String,
}

/// The network calls strace's `%network` class holds: kept whatever their socket.
const NETWORK: [&str; 19] = [
    "accept",
    "accept4",
    "bind",
    "connect",
    "getpeername",
    "getsockname",
    "getsockopt",
    "listen",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmsg",
    "send",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setsockopt",
    "shutdown",
    "socket",
];

/// Turn `calls` into rows; `port` is the port the program was told (`-p P`).
///
/// Processes that make no socket call, themselves or through their children,
/// are left out with their forks (a wrapper such as a pyenv shim, a daemon's
/// launcher that only waits), and the first process that does is the main one;
/// children are numbered in the order shown.
pub fn rows(calls: &[Call], port: u16) -> Vec<Row> {
    let mut state = State {
        port,
        fds: HashMap::new(),
        made: HashMap::new(),
        blocks: HashMap::new(),
        seen: Vec::new(),
    };
    for call in calls {
        state.take(call);
    }
    let mut main = calls.first().map_or(0, |c| c.pid);
    // A process that only forks one child that works: the child is the program.
    loop {
        let entries = state.blocks.get(&main).map_or(&[][..], |b| b.as_slice());
        let own = entries.iter().any(|e| matches!(e, Entry::Row(_)));
        let working: Vec<i32> = entries
            .iter()
            .filter_map(|e| match e {
                Entry::Fork(child) | Entry::Adopted(child) if state.works(*child) => Some(*child),
                _ => None,
            })
            .collect();
        match working.as_slice() {
            [only] if !own => main = *only,
            _ => break,
        }
    }
    let mut out = Vec::new();
    let mut children = 0;
    state.flatten(main, "", &mut children, &mut out);
    out
}

/// A call as kept, before its process has a name.
struct Kept {
    name: String,
    key: String,
    text: String,
}

/// A process's calls, and where its children's blocks go.
enum Entry {
    Row(Kept),
    /// A fork that made this child: a row, then the child's block.
    Fork(i32),
    /// A process whose fork was not seen (a thread): its block, first seen here.
    Adopted(i32),
}

struct State {
    port: u16,
    /// Per process: descriptor number → its name.
    fds: HashMap<i32, HashMap<i32, String>>,
    /// How many descriptors of each kind were made (`sock`, `conn`).
    made: HashMap<&'static str, usize>,
    blocks: HashMap<i32, Vec<Entry>>,
    /// Every process met, in order.
    seen: Vec<i32>,
}

impl State {
    fn name_fd(&mut self, pid: i32, fd: i32, kind: &'static str) -> String {
        let n = self.made.entry(kind).or_insert(0);
        *n += 1;
        let name = format!("{kind}{n}");
        self.fds.entry(pid).or_default().insert(fd, name.clone());
        name
    }

    fn meet(&mut self, pid: i32) {
        if self.seen.contains(&pid) {
            return;
        }
        if let Some(&first) = self.seen.first() {
            self.blocks
                .entry(first)
                .or_default()
                .push(Entry::Adopted(pid));
        }
        self.seen.push(pid);
    }

    fn take(&mut self, call: &Call) {
        if call.result.starts_with("? ERESTART") {
            return;
        }
        self.meet(call.pid);
        let name = call.name.as_str();
        let first: Option<i32> = call
            .args
            .split(',')
            .next()
            .and_then(|a| a.trim().parse().ok());
        let known = first.and_then(|fd| self.fds.get(&call.pid)?.get(&fd).cloned());
        let returned: Option<i32> = call
            .result
            .split_whitespace()
            .next()
            .and_then(|r| r.parse().ok());
        let mut result = mask_result(&call.result);
        if matches!(name, "fork" | "vfork" | "clone" | "clone3") {
            match returned {
                Some(child) if child > 0 => {
                    let table = self.fds.get(&call.pid).cloned().unwrap_or_default();
                    self.fds.insert(child, table);
                    self.seen.push(child);
                    self.blocks
                        .entry(call.pid)
                        .or_default()
                        .push(Entry::Fork(child));
                }
                Some(-1) => self.push(call.pid, name, "fork".into(), format!("fork() = {result}")),
                _ => {}
            }
            return;
        }
        let network = NETWORK.contains(&name);
        if !network && known.is_none() {
            // close, read, write, sendfile on a file or a terminal: not a socket call.
            return;
        }
        let fd_name = known.clone().unwrap_or_else(|| "fd".into());
        match (name, returned) {
            ("socket", Some(fd)) if fd >= 0 => result = self.name_fd(call.pid, fd, "sock"),
            ("accept" | "accept4", Some(fd)) if fd >= 0 => {
                result = self.name_fd(call.pid, fd, "conn")
            }
            ("close", _) => {
                if let (Some(fd), Some(table)) = (first, self.fds.get_mut(&call.pid)) {
                    table.remove(&fd);
                }
            }
            _ => {}
        }
        let args = mask_args(name, &call.args, &fd_name, self.port);
        let key = key(name, &fd_name, &args);
        self.push(call.pid, name, key, format!("{name}({args}) = {result}"));
    }

    fn push(&mut self, pid: i32, name: &str, key: String, text: String) {
        let kept = Kept {
            name: name.to_string(),
            key,
            text,
        };
        self.blocks.entry(pid).or_default().push(Entry::Row(kept));
    }

    /// True when `pid` or one of its children made a call that is kept.
    fn works(&self, pid: i32) -> bool {
        self.blocks.get(&pid).is_some_and(|entries| {
            entries.iter().any(|e| match e {
                Entry::Row(_) => true,
                Entry::Fork(child) | Entry::Adopted(child) => self.works(*child),
            })
        })
    }

    /// `pid`'s rows as `role`, each working child's block after the fork that
    /// made it, children named in the order they are shown.
    fn flatten(&mut self, pid: i32, role: &str, children: &mut usize, out: &mut Vec<Row>) {
        let entries = self.blocks.remove(&pid).unwrap_or_default();
        for entry in entries {
            match entry {
                Entry::Row(kept) => out.push(row(role, kept)),
                Entry::Fork(child) | Entry::Adopted(child) if self.works(child) => {
                    *children += 1;
                    let child_role = format!("child{children}");
                    if matches!(entry, Entry::Fork(_)) {
                        let text = format!("fork() = [{child_role}]");
                        out.push(row(
                            role,
                            Kept {
                                name: "fork".into(),
                                key: "fork".into(),
                                text,
                            },
                        ));
                    }
                    self.flatten(child, &child_role, children, out);
                }
                Entry::Fork(_) | Entry::Adopted(_) => {}
            }
        }
    }
}

fn row(role: &str, kept: Kept) -> Row {
    Row {
        key: format!("{role}|{}", kept.key),
        name: kept.name,
        role: role.to_string(),
        text: kept.text,
    }
}

/// What makes two calls the same step: the name, the socket, and for some calls
/// the argument that says what they do.
fn key(name: &str, fd: &str, args: &str) -> String {
    let parts: Vec<&str> = args.split(", ").collect();
    match name {
        "setsockopt" | "getsockopt" => format!(
            "{name}({fd}, {}, {})",
            parts.get(1).unwrap_or(&""),
            parts.get(2).unwrap_or(&"")
        ),
        "shutdown" => format!("{name}({fd}, {})", parts.get(1).unwrap_or(&"")),
        "socket" => format!("{name}({})", parts.first().unwrap_or(&"")),
        _ => format!("{name}({fd})"),
    }
}

/// `-1 ECONNREFUSED (Connection refused)` → `-1 ECONNREFUSED`.
fn mask_result(result: &str) -> String {
    match result.split_once(" (") {
        Some((head, _)) if head.starts_with("-1 ") => head.to_string(),
        _ => result.to_string(),
    }
}

/// The arguments with the socket named, addresses compacted, buffers and
/// pointers elided, and `sendfile`'s file descriptor masked.
fn mask_args(name: &str, args: &str, fd_name: &str, port: u16) -> String {
    let mut parts = split_args(args);
    if name != "socket" {
        if let Some(first) = parts.first_mut() {
            if first.trim().parse::<i32>().is_ok() {
                *first = fd_name.to_string();
            }
        }
    }
    if name == "sendfile" {
        if let Some(file) = parts.get_mut(1) {
            *file = "file".into();
        }
    }
    // On a connected socket the address arguments are empty: recvfrom(…, NULL,
    // NULL) and sendto(…, NULL, 0) read as the recv and send of the slides.
    let no_address = match name {
        "recvfrom" => ["NULL", "NULL"],
        "sendto" => ["NULL", "0"],
        _ => ["", ""],
    };
    let tail: Vec<&str> = parts.iter().rev().take(2).map(|p| p.trim()).collect();
    if !no_address[0].is_empty() && parts.len() > 2 && tail == [no_address[1], no_address[0]] {
        parts.truncate(parts.len() - 2);
    }
    parts
        .iter()
        .map(|p| mask_value(p.trim(), port))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Split at the commas that are not inside `{}`, `[]`, `()` or quotes.
fn split_args(args: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut current = String::new();
    let mut escaped = false;
    for c in args.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '{' | '[' | '(' if !quoted => depth += 1,
            '}' | ']' | ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

/// One argument, masked.
fn mask_value(value: &str, port: u16) -> String {
    if value.starts_with("{sa_family=") {
        return sockaddr(value, port);
    }
    if value.starts_with('"') {
        // A buffer's contents: what is sent is compared by the checks, not here.
        return "…".into();
    }
    if value.starts_with("0x") {
        return "…".into();
    }
    value.to_string()
}

/// `{sa_family=AF_INET, sin_port=htons(40312), sin_addr=inet_addr("127.0.0.1")}` →
/// `{127.0.0.1:PORT}` (IPv6 in brackets; other families as they are).
fn sockaddr(value: &str, port: u16) -> String {
    let number = value
        .split("port=htons(")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|digits| digits.parse::<u16>().ok());
    let quoted_addr = |marker: &str| {
        value
            .split(marker)
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .map(str::to_string)
    };
    let addr = quoted_addr("inet_addr(\"")
        .or_else(|| quoted_addr("AF_INET6, \"").map(|a| format!("[{a}]")));
    match (addr, number) {
        (Some(addr), Some(n)) => {
            let shown = match n {
                0 => "0".to_string(),
                n if n == port => "P".to_string(),
                _ => "PORT".to_string(),
            };
            format!("{{{addr}:{shown}}}")
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The C original of step 06 as `strace -f -qq -s 0` shows one request: the
    /// loader's closes, the parent's restarted accept, a child's block.
    const C_TRACE: &str = r#"22310 close(3)                          = 0
22310 socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3
22310 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
22310 bind(3, {sa_family=AF_INET, sin_port=htons(45679), sin_addr=inet_addr("0.0.0.0")}, 16) = 0
22310 listen(3, 10)                     = 0
22310 write(2, ""..., 27)               = 27
22310 accept(3, {sa_family=AF_INET, sin_port=htons(51802), sin_addr=inet_addr("127.0.0.1")}, [16]) = 4
22310 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f8f11723a10) = 22361
22310 close(4)                          = 0
22310 accept(3,  <unfinished ...>
22361 close(3)                          = 0
22361 recvfrom(4, ""..., 8192, 0, NULL, NULL) = 28
22361 read(3, ""..., 65536)             = 12
22361 sendto(4, ""..., 12, MSG_NOSIGNAL, NULL, 0) = 12
22361 close(3)                          = 0
22361 shutdown(4, SHUT_WR)              = 0
22361 close(4)                          = 0
22310 <... accept resumed>0x7ffc981ff8f0, [16]) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
22310 accept(3, 
"#;

    #[test]
    fn joins_unfinished_and_resumed_halves() {
        let calls = parse("7 accept(3,  <unfinished ...>\n8 close(4) = 0\n7 <... accept resumed>{sa_family=AF_INET}, [16]) = 5\n");
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].name, "accept");
        assert_eq!(calls[0].args, "3,  {sa_family=AF_INET}, [16]");
        assert_eq!(calls[0].result, "5");
        assert_eq!(calls[1].pid, 8);
    }

    #[test]
    fn names_sockets_masks_ports_and_puts_a_childs_calls_after_its_fork() {
        let rows = rows(&parse(C_TRACE), 45679);
        let texts: Vec<String> = rows
            .iter()
            .map(|r| {
                if r.role.is_empty() {
                    r.text.clone()
                } else {
                    format!("[{}] {}", r.role, r.text)
                }
            })
            .collect();
        assert_eq!(
            texts,
            [
                "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = sock1",
                "setsockopt(sock1, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0",
                "bind(sock1, {0.0.0.0:P}, 16) = 0",
                "listen(sock1, 10) = 0",
                "accept(sock1, {127.0.0.1:PORT}, [16]) = conn1",
                "fork() = [child1]",
                "[child1] close(sock1) = 0",
                "[child1] recvfrom(conn1, …, 8192, 0) = 28",
                "[child1] sendto(conn1, …, 12, MSG_NOSIGNAL) = 12",
                "[child1] shutdown(conn1, SHUT_WR) = 0",
                "[child1] close(conn1) = 0",
                "close(conn1) = 0",
                "accept(sock1) = ?",
            ]
        );
        assert_eq!(rows[9].key, "child1|shutdown(conn1, SHUT_WR)");
        assert_eq!(rows[1].key, "|setsockopt(sock1, SOL_SOCKET, SO_REUSEADDR)");
    }

    /// A wrapper (a pyenv shim) forks processes that make no socket call before the
    /// program proper: they are left out, and the program is the main process.
    #[test]
    fn processes_without_socket_calls_are_left_out() {
        let trace = "\
1 clone(child_stack=NULL, flags=SIGCHLD) = 2
2 close(3) = 0
1 clone(child_stack=NULL, flags=SIGCHLD) = 3
3 socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3
3 accept(3, {sa_family=AF_INET, sin_port=htons(4000), sin_addr=inet_addr(\"127.0.0.1\")}, [16]) = 4
3 clone(child_stack=NULL, flags=SIGCHLD) = 4
3 clone(child_stack=NULL, flags=SIGCHLD) = 5
5 close(4) = 0
";
        let rows = rows(&parse(trace), 1234);
        let shown: Vec<(&str, &str)> = rows
            .iter()
            .map(|r| (r.role.as_str(), r.text.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("", "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = sock1"),
                ("", "accept(sock1, {127.0.0.1:PORT}, [16]) = conn1"),
                ("", "fork() = [child1]"),
                ("child1", "close(conn1) = 0"),
            ]
        );
    }

    #[test]
    fn errors_keep_their_symbol_and_lose_their_text() {
        let rows = rows(&parse("5 socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3\n5 connect(3, {sa_family=AF_INET6, sin6_port=htons(0), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, \"::1\", &sin6_addr), sin6_scope_id=0}, 28) = -1 ECONNREFUSED (Connection refused)\n"), 1234);
        assert_eq!(
            rows[1].text,
            "connect(sock1, {[::1]:0}, 28) = -1 ECONNREFUSED"
        );
    }
}
