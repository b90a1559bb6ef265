//! Two programs' calls side by side: a longest common subsequence of their keys
//! lines up the calls both make; what only the reference makes is marked `-`
//! (missing), what only the student's program makes `+` (extra), and a missing and
//! an extra call next to each other that do the same step by another name
//! (`accept` and `accept4`, `sendto` and `write`) share a line marked `~`.

use super::calls::Row;

/// How a line of the comparison is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Both make this call.
    Same,
    /// Only the reference makes it.
    Missing,
    /// Only the student's program makes it.
    Extra,
    /// Both do this step, with different calls.
    Differs,
}

impl Mark {
    /// The character in the margin.
    pub fn symbol(self) -> char {
        match self {
            Mark::Same => ' ',
            Mark::Missing => '-',
            Mark::Extra => '+',
            Mark::Differs => '~',
        }
    }
}

/// One line: the student's call (left), the reference's (right).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// How it is marked.
    pub mark: Mark,
    /// The student's call, if it has one here.
    pub mine: Option<&'a Row>,
    /// The reference's call, if it has one here.
    pub theirs: Option<&'a Row>,
}

/// Calls that do the same step of the lecture under different names.
const FAMILIES: [&[&str]; 4] = [
    &["accept", "accept4"],
    &["send", "sendto", "sendmsg", "write", "writev", "sendfile"],
    &["recv", "recvfrom", "recvmsg", "read", "readv"],
    &["fork", "vfork", "clone", "clone3"],
];

fn same_family(a: &Row, b: &Row) -> bool {
    a.role == b.role
        && FAMILIES
            .iter()
            .any(|f| f.contains(&a.name.as_str()) && f.contains(&b.name.as_str()))
}

/// Line up `mine` and `theirs` (each at most a few hundred calls: the table is
/// quadratic).
pub fn compare<'a>(mine: &'a [Row], theirs: &'a [Row]) -> Vec<Line<'a>> {
    let (n, m) = (mine.len(), theirs.len());
    // common[i][j]: the longest common subsequence of mine[i..] and theirs[j..].
    let mut common = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            common[i][j] = if mine[i].key == theirs[j].key {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let mut lines = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && mine[i].key == theirs[j].key {
            lines.push(line(Mark::Same, Some(&mine[i]), Some(&theirs[j])));
            i += 1;
            j += 1;
        } else if j < m && (i == n || common[i][j + 1] >= common[i + 1][j]) {
            lines.push(line(Mark::Missing, None, Some(&theirs[j])));
            j += 1;
        } else {
            lines.push(line(Mark::Extra, Some(&mine[i]), None));
            i += 1;
        }
    }
    pair_differing(lines)
}

fn line<'a>(mark: Mark, mine: Option<&'a Row>, theirs: Option<&'a Row>) -> Line<'a> {
    Line { mark, mine, theirs }
}

/// Within each run of missing and extra lines, put an extra call beside a missing
/// one of its family, on one line marked `~`.
fn pair_differing(lines: Vec<Line<'_>>) -> Vec<Line<'_>> {
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    let mut run: Vec<Line> = Vec::new();
    for l in lines {
        if l.mark == Mark::Same {
            out.extend(pair_run(std::mem::take(&mut run)));
            out.push(l);
        } else {
            run.push(l);
        }
    }
    out.extend(pair_run(run));
    out
}

fn pair_run(mut run: Vec<Line<'_>>) -> Vec<Line<'_>> {
    let mut i = 0;
    while i < run.len() {
        if let (Mark::Missing, Some(theirs)) = (run[i].mark, run[i].theirs) {
            let partner = run.iter().position(|l| {
                l.mark == Mark::Extra && l.mine.is_some_and(|mine| same_family(mine, theirs))
            });
            if let Some(p) = partner {
                run[i].mine = run[p].mine;
                run[i].mark = Mark::Differs;
                run.remove(p);
                if p < i {
                    continue;
                }
            }
        }
        i += 1;
    }
    run
}

/// How many lines carry each mark: (missing, extra, differing).
pub fn counts(lines: &[Line<'_>]) -> (usize, usize, usize) {
    let count = |mark| lines.iter().filter(|l| l.mark == mark).count();
    (
        count(Mark::Missing),
        count(Mark::Extra),
        count(Mark::Differs),
    )
}

/// A row as one column shows it: its process, then the call, cut to `width`
/// characters in its arguments, so that its result stays in view.
pub fn cell(row: Option<&Row>, width: usize) -> String {
    let text = match row {
        None => String::new(),
        Some(r) if r.role.is_empty() => r.text.clone(),
        Some(r) => format!("[{}] {}", r.role, r.text),
    };
    let length = text.chars().count();
    if length <= width {
        return text;
    }
    let (call, result) = text.rsplit_once(" = ").unwrap_or((&text, ""));
    let result = format!("…) = {result}");
    let keep = width.saturating_sub(result.chars().count()).max(width / 2);
    let mut cut: String = call.chars().take(keep).collect();
    cut.push_str(&result);
    cut.chars().take(width).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(role: &str, name: &str, key: &str) -> Row {
        Row {
            key: format!("{role}|{key}"),
            name: name.into(),
            role: role.into(),
            text: format!("{key} = 0"),
        }
    }

    #[test]
    fn a_missing_shutdown_is_marked_missing() {
        let theirs = [
            row("", "connect", "connect(sock1)"),
            row("", "sendto", "sendto(sock1)"),
            row("", "shutdown", "shutdown(sock1, SHUT_WR)"),
            row("", "recvfrom", "recvfrom(sock1)"),
            row("", "close", "close(sock1)"),
        ];
        let mine = [
            row("", "connect", "connect(sock1)"),
            row("", "sendto", "sendto(sock1)"),
            row("", "close", "close(sock1)"),
            row("", "recvfrom", "recvfrom(sock1)"),
        ];
        let lines = compare(&mine, &theirs);
        let marks: String = lines.iter().map(|l| l.mark.symbol()).collect();
        let missing: Vec<&str> = lines
            .iter()
            .filter(|l| l.mark == Mark::Missing)
            .filter_map(|l| l.theirs.map(|r| r.name.as_str()))
            .collect();
        assert!(missing.contains(&"shutdown"), "{marks}");
        assert_eq!(counts(&lines).0, marks.matches('-').count());
    }

    #[test]
    fn accept4_beside_accept_is_one_line_marked_differing() {
        let theirs = [
            row("", "listen", "listen(sock1)"),
            row("", "accept", "accept(sock1)"),
        ];
        let mine = [
            row("", "listen", "listen(sock1)"),
            row("", "accept4", "accept4(sock1)"),
        ];
        let lines = compare(&mine, &theirs);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].mark, Mark::Differs);
        assert_eq!(lines[1].mine.map(|r| r.name.as_str()), Some("accept4"));
        assert_eq!(lines[1].theirs.map(|r| r.name.as_str()), Some("accept"));
    }

    #[test]
    fn the_same_calls_have_no_marks() {
        let calls = [
            row("", "socket", "socket(AF_INET)"),
            row("child1", "close", "close(conn1)"),
        ];
        let lines = compare(&calls, &calls);
        assert!(lines.iter().all(|l| l.mark == Mark::Same));
        assert_eq!(cell(lines[1].mine, 25), "[child1] close(conn1) = 0");
        assert_eq!(cell(lines[1].mine, 20), "[child1] close…) = 0");
    }
}
