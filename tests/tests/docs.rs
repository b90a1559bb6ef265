//! The documentation stays true: README transcripts are re-run, headers name their
//! own crate, and the root README lists every step.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;

use tests::bins::workspace_root;
use tests::mask;
use tests::net;
use tests::process::Launch;
use tests::{rust_binary, Server};

/// Every step crate in the workspace, by folder name.
fn step_crates() -> Vec<String> {
    let mut steps: Vec<String> = fs::read_dir(workspace_root())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("step"))
        .collect();
    steps.sort();
    steps
}

/// The headline transcript of a step's README: the block after `<!-- transcript -->`.
struct Transcript {
    binary: String,
    args: Vec<String>,
    expected: String,
}

/// The `n`th console block after the `<!-- transcript -->` marker: (command, output).
fn console_block(step: &str, n: usize) -> (String, String) {
    let path: PathBuf = workspace_root().join(step).join("README.md");
    let readme = fs::read_to_string(&path).unwrap();
    let after = readme
        .split("<!-- transcript -->")
        .nth(1)
        .unwrap_or_else(|| panic!("{} has no <!-- transcript --> block", path.display()));
    let block = after
        .split("```console\n")
        .nth(n + 1)
        .and_then(|b| b.split("```").next())
        .expect("console blocks follow the marker");
    let (command, output) = block.split_once('\n').expect("a command line, then output");
    (command.to_string(), output.to_string())
}

fn transcript(step: &str) -> Transcript {
    let (command, output) = console_block(step, 0);
    let command = command.as_str();
    let words: Vec<&str> = command
        .strip_prefix("$ cargo run -q -p ")
        .expect("the transcript starts with `$ cargo run -q -p CRATE`")
        .split_whitespace()
        .collect();
    let args = match words.get(1) {
        Some(&"--") => words[2..].iter().map(|w| w.to_string()).collect(),
        None => Vec::new(),
        Some(other) => panic!("unexpected {other:?} in {command:?}"),
    };
    Transcript {
        binary: words[0].to_string(),
        args,
        expected: output,
    }
}

/// Run a server transcript's command (on loopback, port 0), let `drive` play the
/// other terminal (and stop the server, if it does not stop by itself), and compare
/// terminal 1 with the README, addresses, ports and pids masked.
fn check_server_transcript(step: &str, drive: impl FnOnce(&Server)) {
    let t = transcript(step);
    assert_eq!(t.binary, step);
    let mut args = vec!["-p", "0", "-b", "127.0.0.1"];
    args.extend(t.args.iter().map(String::as_str));
    let mut server = Server::launch(Launch::new(&rust_binary(step), &args).merged());
    drive(&server);
    let done = server.proc.wait_exit();
    assert_eq!(done.code, Some(0));
    let masked = |text: &str| mask::pids(&mask::addresses(text));
    assert_eq!(
        masked(&done.stderr),
        masked(&t.expected),
        "{step}/README.md"
    );
}

/// As [`check_server_transcript`], but `--root` paths in the command are taken from
/// `dir` (the workspace root, where the README's commands are run).
fn check_server_transcript_in(step: &str, dir: &std::path::Path, drive: impl FnOnce(&Server)) {
    let t = transcript(step);
    assert_eq!(t.binary, step);
    let args: Vec<String> = t
        .args
        .iter()
        .map(|a| {
            if a.starts_with(step) {
                dir.join(a).to_string_lossy().into_owned()
            } else {
                a.clone()
            }
        })
        .collect();
    let mut all = vec!["-p", "0", "-b", "127.0.0.1"];
    all.extend(args.iter().map(String::as_str));
    let mut server = Server::launch(Launch::new(&rust_binary(step), &all).merged());
    drive(&server);
    let done = server.proc.wait_exit();
    assert_eq!(done.code, Some(0));
    let masked = |text: &str| {
        let text = mask::addresses(text);
        text.lines()
            .map(|l| match (l.find('['), l.find(']')) {
                (Some(a), Some(b)) if a < b => format!("{}[DATE]{}\n", &l[..a], &l[b + 1..]),
                _ => format!("{l}\n"),
            })
            .collect::<String>()
    };
    assert_eq!(
        masked(&done.stderr),
        masked(&t.expected),
        "{step}/README.md"
    );
}

/// What step01's README shows: `listening on …`, then `Connection from: …` after `nc`.
#[test]
fn step01_readme_transcript_is_what_the_program_prints() {
    check_server_transcript("step01-open-port", |server| drop(net::connect(server.addr)));
}

/// What step02's README shows, with step03's client in the other terminal.
#[test]
fn step02_readme_transcript_is_what_the_program_prints() {
    check_server_transcript("step02-receive", |server| {
        let port = server.port().to_string();
        let client = Launch::new(
            &rust_binary("step03-client"),
            &["-p", &port, "hello,", "server"],
        )
        .spawn()
        .wait_exit();
        assert_eq!(client.code, Some(0));
    });
}

/// What step03's README shows, with step02 in the other terminal.
#[test]
fn step03_readme_transcript_is_what_the_program_prints() {
    let t = transcript("step03-client");
    assert_eq!(t.binary, "step03-client");
    let mut server = Server::start(&rust_binary("step02-receive"), &["--once"]);
    let port = server.port().to_string();
    let mut args = vec!["-p", port.as_str()];
    args.extend(t.args.iter().map(String::as_str));
    let client = Launch::new(&rust_binary(&t.binary), &args)
        .merged()
        .spawn()
        .wait_exit();
    assert_eq!(client.code, Some(0));
    assert_eq!(client.stderr, t.expected);
    assert_eq!(server.proc.wait_exit().stdout, b"hello, server\n");
}

/// What step04's README shows: terminal 1's log, and terminal 2's replies to the
/// requests piped into step03's client.
#[test]
fn step04_readme_transcript_is_what_the_program_prints() {
    let (command, replies) = console_block("step04-respond", 1);
    let requests = command
        .strip_prefix("$ printf '")
        .and_then(|c| c.split_once("' | cargo run -q -p step03-client"))
        .map(|(r, _)| r.replace("\\n", "\n"))
        .expect("terminal 2 pipes printf into step03-client");
    check_server_transcript("step04-respond", |server| {
        let port = server.port().to_string();
        let client = Launch::new(&rust_binary("step03-client"), &["-p", &port])
            .stdin(requests.into_bytes())
            .merged()
            .spawn()
            .wait_exit();
        assert_eq!(client.code, Some(0));
        assert_eq!(client.stdout_text().replace("\r\n", "\n"), replies);
        server.proc.wait_stderr("Connection from:");
        server.proc.signal(libc::SIGTERM);
    });
}

/// What step05's README shows: the launching command's two lines. Run as root in a
/// private mount namespace (see `tests::daemon`), with the pid file in a temporary
/// folder; the daemon is killed afterwards.
#[test]
fn step05_readme_transcript_is_what_the_program_prints() {
    if !tests::daemon::can_use_namespaces() {
        return;
    }
    let t = transcript("step05-daemon");
    let dir = tests::daemon::TempDir::new("docs05");
    let pid_file = dir.join("d.pid").to_string_lossy().into_owned();
    let mut args: Vec<&str> = t
        .args
        .iter()
        .map(|a| {
            if a.ends_with(".pid") {
                pid_file.as_str()
            } else {
                a.as_str()
            }
        })
        .collect();
    args.extend(["-p", "0", "-b", "127.0.0.1"]);
    let syslog = tests::daemon::Syslog::new();
    let done = syslog
        .launch(&rust_binary(&t.binary), &args)
        .spawn()
        .wait_exit();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _daemon = tests::daemon::Detached { pid };
    assert_eq!(done.code, Some(0));
    let masked = |text: &str| {
        let text = mask::addresses(text);
        match text.split_once("daemon pid ") {
            Some((head, _)) => format!("{head}daemon pid PID\n"),
            None => text,
        }
    };
    assert_eq!(masked(&done.stderr), masked(&t.expected));
}

/// The systemd unit runs the daemon the new-style way: in the foreground, reloaded
/// with SIGHUP, and with flags the binary has.
#[test]
fn step05_systemd_unit_uses_the_foreground_mode() {
    let unit =
        fs::read_to_string(workspace_root().join("step05-daemon/step05-daemon.service")).unwrap();
    assert!(unit.contains("\nType=simple\n"));
    assert!(unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    let help = Launch::new(&rust_binary("step05-daemon"), &["--help"])
        .spawn()
        .wait_exit()
        .stdout_text();
    for flag in exec.split_whitespace().filter(|w| w.starts_with("--")) {
        assert!(help.contains(flag), "{flag} is not a flag of step05-daemon");
    }
    assert!(exec.contains("--foreground"));
}

/// What step06's README shows in terminal 1: the listening line, then the access log
/// line of one `GET /` (the date masked).
#[test]
fn step06_readme_transcript_is_what_the_program_prints() {
    let www = workspace_root().join("step06-fileserver/www");
    check_server_transcript_in("step06-fileserver", &workspace_root(), |server| {
        let mut client = net::connect(server.addr);
        std::io::Write::write_all(
            &mut client,
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        assert!(net::read_to_end(&mut client).starts_with(b"HTTP/1.1 200 OK\r\n"));
        server.proc.wait_stderr("\"GET / HTTP/1.1\" 200");
        server.proc.signal(libc::SIGTERM);
    });
    assert!(www.join("index.html").is_file());
}

/// Every `curl -v` transcript in step06's README, replayed against the demo site: the
/// same request lines, status lines and header fields (dates, tags, port and curl's
/// version masked).
#[test]
fn step06_readme_curl_transcripts_are_what_curl_shows() {
    if !tests::require_tool("curl") {
        return;
    }
    let readme = fs::read_to_string(workspace_root().join("step06-fileserver/README.md")).unwrap();
    let www = workspace_root().join("step06-fileserver/www");
    let server = Server::start(
        &rust_binary("step06-fileserver"),
        &["--root", www.to_str().unwrap()],
    );
    let blocks: Vec<&str> = readme.split("<!-- curl -->").skip(1).collect();
    assert!(blocks.len() >= 3, "the README shows curl -v transcripts");
    let mask = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with('<') || l.starts_with('>'))
            .map(|l| {
                let l = l.trim_end();
                for name in ["Date", "Last-Modified", "ETag", "User-Agent", "Host"] {
                    for side in ["< ", "> "] {
                        if l.starts_with(&format!("{side}{name}: ")) {
                            return format!("{side}{name}: …");
                        }
                    }
                }
                l.to_string()
            })
            .collect()
    };
    for block in blocks {
        let text = block
            .split("```console\n")
            .nth(1)
            .unwrap()
            .split("```")
            .next()
            .unwrap();
        let (command, expected) = text.split_once('\n').unwrap();
        let args: Vec<String> = command
            .strip_prefix("$ curl ")
            .unwrap()
            .split_whitespace()
            .map(|a| a.replace("127.0.0.1:1234", &server.addr.to_string()))
            .collect();
        let mut argv: Vec<&str> = vec!["-s", "-o", "/dev/null"];
        argv.extend(args.iter().map(String::as_str));
        let done = Launch::new(std::path::Path::new("curl"), &argv)
            .spawn()
            .wait_exit();
        assert_eq!(done.code, Some(0), "{command}: {}", done.stderr);
        assert_eq!(mask(&done.stderr), mask(expected), "{command}");
    }
}

/// Each step's `main.rs` header names its own step and crate, its README's title
/// names the crate, and its `original.c` says which file it is.
#[test]
fn every_header_names_its_own_step() {
    for step in step_crates() {
        let dir = workspace_root().join(&step);
        let number = &step[4..6];
        let main = fs::read_to_string(dir.join("src/main.rs")).unwrap();
        assert!(
            main.starts_with(&format!("//! Step {number}: ")),
            "{step}: header"
        );
        assert!(
            main.contains(&format!("-p {step}")),
            "{step}: header's run command"
        );
        assert!(
            main.contains("original.c"),
            "{step}: header points to original.c"
        );
        let readme = fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(
            readme.starts_with(&format!("# {step}: ")),
            "{step}: README title"
        );
        for section in [
            "## 1. Slides covered",
            "## 2. Run it",
            "## 3. Walkthrough",
            "## 4. Differs from the C, and why",
            "## 5. Slide bugs fixed",
            "## 6. Beyond the slides",
            "## 7. Exit codes",
            "## 8. Try this",
            "## 9. Further reading",
        ] {
            assert!(
                readme.contains(section),
                "{step}/README.md lacks {section:?}"
            );
        }
        let c = fs::read_to_string(dir.join("original.c")).unwrap();
        assert!(
            c.contains(&format!("{step}/original.c")),
            "{step}: original.c header"
        );
        assert!(
            c.contains("Slide bug:"),
            "{step}: original.c labels the slide bugs"
        );
    }
}

/// The root README's step table links every step's README and C original, and the
/// workspace lists every step as a member.
#[test]
fn root_readme_and_workspace_list_every_step() {
    let root = workspace_root();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let manifest = fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let steps = step_crates();
    assert!(steps.len() >= 3);
    for step in steps {
        assert!(
            readme.contains(&format!("[{step}]({step}/README.md)")),
            "README: {step}"
        );
        assert!(
            readme.contains(&format!("({step}/original.c)")),
            "README: {step} C"
        );
        assert!(
            manifest.contains(&format!("\"{step}\"")),
            "Cargo.toml members: {step}"
        );
    }
    assert!(readme.contains("cargo test --workspace"));
}

/// How every step README builds and runs its C original, from the step's folder: the
/// same two commands everywhere (SPEC's flags, one binary name for git to ignore).
const C_BUILD: &str = "$ cc -std=c11 -Wall -Wextra -Werror -o original original.c";
const C_RUN: &str = "$ ./original -p 1234";

/// True when git ignores `path` (relative to the workspace root), whether or not the
/// file exists or is tracked.
fn git_ignores(path: &str) -> bool {
    let status = std::process::Command::new("git")
        .args(["check-ignore", "--quiet", "--no-index", path])
        .current_dir(workspace_root())
        .status()
        .unwrap();
    match status.code() {
        Some(0) => true,
        Some(1) => false,
        other => panic!("git check-ignore {path}: {other:?} (is the workspace a git tree?)"),
    }
}

/// A student who opens any step's README finds the same two commands to build and run
/// the C original; the build command compiles it as written, and neither the binary it
/// leaves in the step's folder nor the one `original.c`'s header names shows up as an
/// untracked file.
#[test]
fn every_step_readme_builds_and_runs_its_c_original_the_same_way() {
    if !tests::require_tool("git") {
        return;
    }
    let block = format!("```console\n{C_BUILD}\n{C_RUN}\n```");
    let binary = C_BUILD
        .split_once(" -o ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap();
    for step in step_crates() {
        let dir = workspace_root().join(&step);
        let readme = fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(
            readme.contains(&block),
            "{step}/README.md lacks the C original's two commands:\n{block}"
        );

        // The build command, run as written in a copy of the step's folder.
        let copy = tests::daemon::TempDir::new("docs-c");
        fs::copy(dir.join("original.c"), copy.join("original.c")).unwrap();
        let build = std::process::Command::new("sh")
            .args(["-c", C_BUILD.trim_start_matches("$ ")])
            .current_dir(copy.path())
            .output()
            .unwrap();
        assert!(
            build.status.success() && build.stderr.is_empty(),
            "{step}: {C_BUILD}\n{}",
            String::from_utf8_lossy(&build.stderr)
        );
        assert!(copy.join(binary).is_file(), "{step}: no ./{binary}");

        assert!(git_ignores(&format!("{step}/{binary}")), "{step}/{binary}");
        assert!(
            !git_ignores(&format!("{step}/original.c")),
            "{step}/original.c"
        );
        let c = fs::read_to_string(dir.join("original.c")).unwrap();
        let header_binary = c
            .lines()
            .find_map(|l| l.split_once("Build: cc ")?.1.split_once(" -o "))
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{step}/original.c: no `Build: cc … -o NAME` line"));
        assert!(
            git_ignores(&format!("{step}/{header_binary}")),
            "{step}/{header_binary}, built as original.c's header says"
        );
    }
}

/// The root README's `## ` sections, each as (title, body).
fn sections(readme: &str) -> Vec<(&str, &str)> {
    readme
        .split("\n## ")
        .skip(1)
        .map(|s| s.split_once('\n').unwrap_or((s, "")))
        .collect()
}

/// A student who opens the root README finds where to start before anything else:
/// "Start here" comes first, with what to install, the two set-up commands and the
/// steps in order. The benchmark's tables are in bench/README.md and the survival
/// table in a section further down, both reached from a short summary, which shows
/// step06 against its ceiling (the latest run's ratios) and what the model costs.
#[test]
fn root_readme_starts_with_where_to_start() {
    let root = workspace_root();
    let readme = fs::read_to_string(root.join("README.md")).unwrap();
    let intro = readme.split("\n## ").next().unwrap();
    assert!(
        !intro.contains("\n|") && !intro.contains("```"),
        "only a title and a paragraph come before \"Start here\""
    );
    let sections = sections(&readme);
    let (title, start) = sections[0];
    assert_eq!(title, "Start here");
    for tool in ["`nc`", "`telnet`", "`curl`", "`strace`"] {
        assert!(start.contains(tool), "Start here names {tool}");
    }
    for command in [
        "$ cargo run --release -p step06-fileserver -- --root step06-fileserver/www",
        "$ cargo test --workspace",
    ] {
        assert!(start.contains(command), "Start here shows {command:?}");
    }
    let places: Vec<usize> = step_crates()
        .iter()
        .map(|s| start.find(&format!("[{s}]({s}/README.md)")).unwrap())
        .collect();
    assert!(places.windows(2).all(|w| w[0] < w[1]), "steps in order");

    // The benchmark's tables and charts live with its profiles.
    let bench = fs::read_to_string(root.join("bench/README.md")).unwrap();
    for table in [
        "| server | 4 KiB keep-alive req/s |",
        "| step06 / peer | keep-alive | close | 100 MiB |",
        "| step | measure | Rust | C (-O2) | Rust / C |",
        "| target | measured | goal |",
        "](results.svg)",
        "](ratios.svg)",
    ] {
        assert!(!readme.contains(table), "README still has {table:?}");
        assert!(bench.contains(table), "bench/README.md lacks {table:?}");
    }
    // The survival table is in a later section; a summary of a few lines links both.
    let survives = sections
        .iter()
        .position(|(t, _)| *t == "What it survives")
        .expect("a \"What it survives\" section");
    assert!(sections[survives]
        .1
        .contains("| fault or attack | behaviour | test |"));
    let summary = sections
        .iter()
        .position(|(_, body)| {
            body.contains("(bench/README.md)") && body.contains("(#what-it-survives)")
        })
        .expect("a summary linking bench/README.md and #what-it-survives");
    assert!(summary < survives);
    let lines = sections[summary]
        .1
        .lines()
        .filter(|l| !l.is_empty())
        .count();
    assert!(lines <= 30, "the summary is short: {lines} lines");
    // It shows step06 against its ceiling, with the latest run's figures.
    let row = |text: &str, label: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no row {label:?}"));
        line.split('|')
            .skip(2)
            .take(2)
            .map(|c| c.trim().to_string())
            .collect()
    };
    let latest = &bench[bench
        .find("| step06 / peer |")
        .expect("the step06 / peer table")..];
    assert_eq!(
        row(sections[summary].1, "ceiling (C, the same model)"),
        row(latest, "ceiling"),
        "README's step06 / ceiling ratios are bench/README.md's latest run"
    );
    assert!(sections[summary].1.contains("](bench/ratios.svg)"));
}
