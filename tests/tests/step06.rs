//! step06-fileserver: the HTTP/1.1 file server, over raw sockets and curl.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tests::daemon::TempDir;
use tests::data::{random_bytes, sha256_hex};
use tests::http::{exchange, get, parse_all, read_response};
use tests::net;
use tests::process::Launch;
use tests::procfs::{children, eventually, open_fds};
use tests::{c_original, rust_binary, Server};

const STEP: &str = "step06-fileserver";
/// In every file outside the root and every hidden file: must never appear in a response.
const SECRET: &str = "SECRET-7f3a9c";

/// A site to serve, with things next to it and inside it that must not be served.
struct Site {
    dir: TempDir,
}

impl Site {
    fn new() -> Site {
        let dir = TempDir::new("site");
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("docs/sub")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::create_dir_all(root.join("with-index")).unwrap();
        std::fs::write(root.join("index.html"), "<h1>root index</h1>\n").unwrap();
        std::fs::write(root.join("hello.txt"), "hello, world\n").unwrap();
        std::fs::write(root.join("data.bin"), random_bytes(6, 1000)).unwrap();
        std::fs::write(root.join("style.css"), "body { color: red; }\n").unwrap();
        std::fs::write(root.join("docs/b.txt"), "b").unwrap();
        std::fs::write(root.join("docs/a.txt"), "a").unwrap();
        std::fs::write(root.join("docs/naïve résumé.txt"), "utf-8 name").unwrap();
        std::fs::write(root.join("docs/<tag>&.txt"), "escaped").unwrap();
        std::fs::write(root.join("with-index/index.html"), "inner index").unwrap();
        std::fs::write(root.join(".env"), format!("{SECRET} env")).unwrap();
        std::fs::write(root.join(".git/config"), format!("{SECRET} git")).unwrap();
        std::fs::write(dir.join("outside.txt"), format!("{SECRET} outside")).unwrap();
        std::os::unix::fs::symlink("hello.txt", root.join("link-in.txt")).unwrap();
        std::os::unix::fs::symlink("../outside.txt", root.join("link-out.txt")).unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc-link")).unwrap();
        Site { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.join("root")
    }

    fn start(&self, extra: &[&str]) -> Server {
        let root = self.root();
        let mut args = vec!["--root", root.to_str().unwrap()];
        args.extend_from_slice(extra);
        Server::start(&rust_binary(STEP), &args)
    }
}

fn raw(addr: SocketAddr, request: &str) -> String {
    String::from_utf8_lossy(&exchange(addr, request.as_bytes())).into_owned()
}

/// A file comes with every header a client needs: type with charset, length, dates,
/// ETag, Accept-Ranges; HEAD sends the same head and no body.
#[test]
fn step06_serves_a_file_with_its_headers() {
    let site = Site::new();
    let server = site.start(&[]);
    let r = get(server.addr, "/hello.txt", &[]);
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.body, b"hello, world\n");
    assert_eq!(r.field("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.field("Content-Length"), Some("13"));
    assert_eq!(r.field("Accept-Ranges"), Some("bytes"));
    assert_eq!(r.field("Connection"), Some("close"));
    assert!(httpdate::parse_http_date(r.field("Date").unwrap()).is_ok());
    let modified = std::fs::metadata(site.root().join("hello.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        r.field("Last-Modified"),
        Some(httpdate::fmt_http_date(modified).as_str())
    );
    assert!(r.field("ETag").unwrap().starts_with('"'));
    assert_eq!(
        get(server.addr, "/style.css", &[]).field("Content-Type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        get(server.addr, "/data.bin", &[]).field("Content-Type"),
        Some("application/octet-stream")
    );

    let head = exchange(
        server.addr,
        b"HEAD /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&head);
    assert!(text.ends_with("\r\n\r\n"), "HEAD sends no body: {text:?}");
    assert!(text.contains("Content-Length: 13\r\n"));
}

/// Directories: no slash → 301 (query kept), index.html served, else a listing
/// (folders first, byte order, names escaped, links encoded), or 403 with --no-listing.
#[test]
fn step06_directories_redirect_index_and_list() {
    let site = Site::new();
    let server = site.start(&[]);
    let r = get(server.addr, "/docs", &[]);
    assert_eq!((r.status, r.field("Location")), (301, Some("/docs/")));
    let r = get(server.addr, "/docs?x=1&y", &[]);
    assert_eq!(r.field("Location"), Some("/docs/?x=1&y"));
    let r = get(server.addr, "//evil.example/docs", &[]);
    assert!(
        !r.field("Location").unwrap_or("/").starts_with("//"),
        "{:?}",
        r.field("Location")
    );
    assert_eq!(get(server.addr, "/", &[]).body, b"<h1>root index</h1>\n");
    assert_eq!(get(server.addr, "/with-index/", &[]).body, b"inner index");

    let listing = get(server.addr, "/docs/", &[]);
    assert_eq!(listing.status, 200);
    assert_eq!(
        listing.field("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let page = String::from_utf8(listing.body).unwrap();
    let order: Vec<usize> = [
        "href=\"../\"",
        "href=\"sub/\"",
        "%3Ctag%3E%26.txt",
        "href=\"a.txt\"",
        "href=\"b.txt\"",
        "na%C3%AFve%20r%C3%A9sum%C3%A9.txt",
    ]
    .iter()
    .map(|needle| {
        page.find(needle)
            .unwrap_or_else(|| panic!("{needle} not in\n{page}"))
    })
    .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "order: {order:?}\n{page}"
    );
    assert!(page.contains("&lt;tag&gt;&amp;.txt") && page.contains("naïve résumé.txt"));
    assert!(!page.contains(".env") && !page.contains(".git"));
    let root_listing = get(server.addr, "/docs/sub/", &[]);
    assert!(String::from_utf8(root_listing.body)
        .unwrap()
        .contains("href=\"../\""));

    let quiet = site.start(&["--no-listing"]);
    assert_eq!(get(quiet.addr, "/docs/", &[]).status, 403);
    assert_eq!(get(quiet.addr, "/", &[]).status, 200);
}

/// Conditional requests: the ETag or the Last-Modified date of the copy a client has
/// gets 304 and no body; an older date gets the file.
#[test]
fn step06_conditional_requests_answer_304() {
    let site = Site::new();
    let server = site.start(&[]);
    let first = get(server.addr, "/hello.txt", &[]);
    let tag = first.field("ETag").unwrap().to_string();
    let date = first.field("Last-Modified").unwrap().to_string();
    let r = get(
        server.addr,
        "/hello.txt",
        &[&format!("If-None-Match: {tag}")],
    );
    assert_eq!((r.status, r.body.len()), (304, 0));
    assert_eq!(r.field("ETag"), Some(tag.as_str()));
    assert_eq!(
        get(server.addr, "/hello.txt", &["If-None-Match: \"other\""]).status,
        200
    );
    assert_eq!(
        get(
            server.addr,
            "/hello.txt",
            &[&format!("If-Modified-Since: {date}")]
        )
        .status,
        304
    );
    let old = httpdate::fmt_http_date(std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000));
    assert_eq!(
        get(
            server.addr,
            "/hello.txt",
            &[&format!("If-Modified-Since: {old}")]
        )
        .status,
        200
    );
}

/// Ranges: one range → 206 and that slice; several → multipart/byteranges; none
/// satisfiable → 416 `bytes */1000`; If-Range with a stale tag → the whole file.
#[test]
fn step06_byte_ranges() {
    let site = Site::new();
    let server = site.start(&[]);
    let data = random_bytes(6, 1000);
    let r = get(server.addr, "/data.bin", &["Range: bytes=100-199"]);
    assert_eq!(
        (r.status, r.field("Content-Range")),
        (206, Some("bytes 100-199/1000"))
    );
    assert_eq!(r.body, &data[100..200]);
    let r = get(server.addr, "/data.bin", &["Range: bytes=-10"]);
    assert_eq!(r.body, &data[990..]);

    let r = get(server.addr, "/data.bin", &["Range: bytes=0-9,500-509"]);
    assert_eq!(r.status, 206);
    let boundary = r
        .field("Content-Type")
        .unwrap()
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap()
        .to_string();
    assert_eq!(
        r.body.len(),
        r.field("Content-Length").unwrap().parse::<usize>().unwrap()
    );
    let body = r.body.clone();
    let mut parts = Vec::new();
    let delimiter = format!("\r\n--{boundary}");
    let text = split_on(&body, delimiter.as_bytes());
    for part in &text[1..text.len() - 1] {
        let head_end = part.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&part[..head_end]).into_owned();
        parts.push((head, part[head_end + 4..].to_vec()));
    }
    assert_eq!(parts.len(), 2);
    assert!(parts[0].0.contains("Content-Range: bytes 0-9/1000"));
    assert_eq!(parts[0].1, &data[..10]);
    assert!(parts[1].0.contains("Content-Range: bytes 500-509/1000"));
    assert_eq!(parts[1].1, &data[500..510]);
    assert_eq!(text.last().unwrap().as_slice(), b"--\r\n");

    let r = get(server.addr, "/data.bin", &["Range: bytes=5000-"]);
    assert_eq!(
        (r.status, r.field("Content-Range")),
        (416, Some("bytes */1000"))
    );
    let tag = get(server.addr, "/data.bin", &[])
        .field("ETag")
        .unwrap()
        .to_string();
    let r = get(
        server.addr,
        "/data.bin",
        &["Range: bytes=0-9", "If-Range: \"stale\""],
    );
    assert_eq!((r.status, r.body.len()), (200, 1000));
    let r = get(
        server.addr,
        "/data.bin",
        &["Range: bytes=0-9", &format!("If-Range: {tag}")],
    );
    assert_eq!((r.status, r.body.len()), (206, 10));
}

/// Split `haystack` on every `delimiter`.
fn split_on(haystack: &[u8], delimiter: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = haystack;
    while let Some(at) = rest.windows(delimiter.len()).position(|w| w == delimiter) {
        out.push(rest[..at].to_vec());
        rest = &rest[at + delimiter.len()..];
    }
    out.push(rest.to_vec());
    out
}

/// Methods, versions, framing and limits: each refusal with its status, then close.
#[test]
fn step06_refuses_what_it_must() {
    let site = Site::new();
    let server = site.start(&[]);
    let table: Vec<(String, &str)> = vec![
        (
            "POST / HTTP/1.1\r\nHost: x\r\n\r\n".into(),
            "HTTP/1.1 405 Method Not Allowed\r\n",
        ),
        (
            "BREW / HTTP/1.1\r\nHost: x\r\n\r\n".into(),
            "HTTP/1.1 501 Not Implemented\r\n",
        ),
        (
            "GET / HTTP/2.0\r\nHost: x\r\n\r\n".into(),
            "HTTP/1.1 505 HTTP Version Not Supported\r\n",
        ),
        ("GET /\r\n\r\n".into(), "HTTP/1.1 400 Bad Request\r\n"),
        (
            "GET / HTTP/1.1\r\n\r\n".into(),
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc".into(),
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(),
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n".into(),
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            "GET /a%00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            "GET /a%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
            "HTTP/1.1 400 Bad Request\r\n",
        ),
        (
            format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(9000)),
            "HTTP/1.1 414 URI Too Long\r\n",
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
                (0..101)
                    .map(|i| format!("X-{i}: y\r\n"))
                    .collect::<String>()
            ),
            "HTTP/1.1 431 Request Header Fields Too Large\r\n",
        ),
        (
            format!(
                "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
                "b".repeat(17_000)
            ),
            "HTTP/1.1 431 Request Header Fields Too Large\r\n",
        ),
    ];
    for (request, status_line) in table {
        let reply = raw(server.addr, &request);
        assert!(
            reply.starts_with(status_line),
            "{:?} → {reply:?}",
            &request[..request.len().min(40)]
        );
    }
    let reply = raw(server.addr, "PUT /x HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(reply.contains("\r\nAllow: GET, HEAD\r\n"));
    assert!(reply.contains("\r\nConnection: close\r\n"));
}

/// Persistence: pipelined requests answered in order on one connection; HTTP/1.0 with
/// keep-alive is kept and told so; `Connection: close` closes.
#[test]
fn step06_keep_alive_and_pipelining() {
    let site = Site::new();
    let server = site.start(&[]);
    let bytes = exchange(
        server.addr,
        b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nHEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\nGET /docs/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let mut responses = Vec::new();
    let mut rest: &[u8] = &bytes;
    for head_only in [false, true, false] {
        let end = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let length: usize = parse_all(&rest[..end], true)[0]
            .field("Content-Length")
            .unwrap()
            .parse()
            .unwrap();
        let take = if head_only { end } else { end + length };
        responses.push(parse_all(&rest[..take], head_only).remove(0));
        rest = &rest[take..];
    }
    assert!(rest.is_empty(), "nothing after the last response");
    assert_eq!(responses[0].body, b"hello, world\n");
    assert_eq!(
        responses[1].field("Content-Type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(responses[2].body, b"a");

    let mut client = net::connect(server.addr);
    client
        .write_all(b"GET /docs/b.txt HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .unwrap();
    let mut first = vec![0u8; 4096];
    let n = client.read(&mut first).unwrap();
    let text = String::from_utf8_lossy(&first[..n]).into_owned();
    assert!(
        text.contains("\r\nConnection: keep-alive\r\n") && text.ends_with("\r\n\r\nb"),
        "{text:?}"
    );
    client
        .write_all(b"GET /docs/a.txt HTTP/1.0\r\n\r\n")
        .unwrap();
    let rest = net::read_to_end(&mut client);
    assert!(
        rest.ends_with(b"\r\n\r\na")
            && String::from_utf8_lossy(&rest).contains("Connection: close")
    );
}

/// `MSG_MORE` on the head: the head and the body of a small file leave in one TCP
/// segment. Without it the head would leave alone and the body follow, two segments
/// per response. Counted by the client's kernel (`TCP_INFO`), over three responses on
/// one connection.
#[test]
fn step06_head_and_body_leave_in_one_segment() {
    let site = Site::new();
    let body = random_bytes(7, 4096);
    std::fs::write(site.root().join("4k.bin"), &body).unwrap();
    let server = site.start(&[]);
    let mut client = net::connect(server.addr);
    for n in 1..=3 {
        client
            .write_all(b"GET /4k.bin HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let response = read_response(&mut client);
        assert_eq!(response.body, body);
        assert_eq!(
            net::data_segments_in(&client),
            n,
            "data segments received after {n} responses"
        );
    }
}

/// `--timeout 1`: a head trickled a byte at a time still gets 408 within the deadline
/// (trickling does not reset it); an idle connection is closed without a word.
#[test]
fn step06_timeouts() {
    let site = Site::new();
    let server = site.start(&["--timeout", "1"]);
    let mut trickler = net::connect(server.addr);
    let start = Instant::now();
    trickler.write_all(b"GET / HTTP/1.1\r\n").unwrap();
    let mut got = Vec::new();
    for _ in 0..20 {
        // Pacing, not synchronisation: one byte every 200 ms, less than the timeout.
        std::thread::sleep(Duration::from_millis(200));
        if trickler.write_all(b"X").is_err() {
            break;
        }
        let mut byte = [0u8; 512];
        trickler.set_nonblocking(true).unwrap();
        if let Ok(n) = trickler.read(&mut byte) {
            got.extend_from_slice(&byte[..n]);
        }
        trickler.set_nonblocking(false).unwrap();
        if !got.is_empty() {
            break;
        }
    }
    let elapsed = start.elapsed();
    assert!(
        String::from_utf8_lossy(&got).starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{got:?}"
    );
    assert!(elapsed < Duration::from_secs(3), "408 after {elapsed:?}");

    let mut idle = net::connect(server.addr);
    let start = Instant::now();
    assert_eq!(net::read_to_end(&mut idle), b"");
    assert!(start.elapsed() >= Duration::from_millis(900));
}

/// More than 60 ways of asking for a file outside the root, or a hidden one: not one
/// byte of any of them comes back (the secret marker never appears), and each answer
/// is 400, 404 or a redirect that stays on this server.
#[test]
fn step06_traversal_corpus_never_leaves_the_root() {
    let site = Site::new();
    let server = site.start(&[]);
    let mut attempts: Vec<String> = Vec::new();
    for target in [
        "outside.txt",
        "etc/passwd",
        "../etc/passwd",
        "root/../outside.txt",
    ] {
        for prefix in [
            "/../",
            "/../../",
            "/../../../../../../",
            "/%2e%2e/",
            "/%2E%2E/",
            "/..%2f",
            "/..%2F",
            "/%2e%2e%2f",
            "/.%2e/",
            "/%2e./",
            "/..%5c",
            "/%252e%252e/",
            "/%c0%ae%c0%ae/",
            "/docs/../../",
            "/./../",
            "//../",
            "/..;/",
            "/%2e%2e%5c",
        ] {
            attempts.push(format!("{prefix}{target}"));
        }
    }
    attempts.extend(
        [
            "/.env",
            "/.git/config",
            "/.git/",
            "/%2egit/config",
            "/%2Eenv",
            "/docs/../.env",
            "/link-out.txt",
            "/etc-link/passwd",
            "/etc-link/",
            "/etc-link/hostname",
            "http://x/../outside.txt",
            "http://x/%2e%2e/outside.txt",
            "\\..\\outside.txt",
            "/..\\outside.txt",
            "/docs/%2e%2e/%2e%2e/outside.txt",
        ]
        .map(String::from),
    );
    assert!(attempts.len() >= 60, "{} attempts", attempts.len());
    for target in &attempts {
        let reply = raw(
            server.addr,
            &format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert!(!reply.contains(SECRET), "{target} leaked:\n{reply}");
        assert!(!reply.contains("root:x:0:0"), "{target} leaked /etc/passwd");
        let status: u16 = reply.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        assert!([400, 404, 301].contains(&status), "{target} → {status}");
        if status == 301 {
            let location = reply
                .split("\r\nLocation: ")
                .nth(1)
                .unwrap()
                .split("\r\n")
                .next()
                .unwrap();
            assert!(
                location.starts_with('/') && !location.starts_with("//"),
                "{target} → {location}"
            );
        }
    }
}

/// Hidden files and links: dot files need --show-hidden; a link inside the root is
/// followed, one leading out needs --follow-symlinks.
#[test]
fn step06_hidden_files_and_symlinks() {
    let site = Site::new();
    let strict = site.start(&[]);
    assert_eq!(get(strict.addr, "/.env", &[]).status, 404);
    assert_eq!(
        get(strict.addr, "/link-in.txt", &[]).body,
        b"hello, world\n"
    );
    assert_eq!(get(strict.addr, "/link-out.txt", &[]).status, 404);
    let open = site.start(&["--show-hidden", "--follow-symlinks"]);
    assert_eq!(get(open.addr, "/.env", &[]).status, 200);
    assert_eq!(get(open.addr, "/link-out.txt", &[]).status, 200);
    assert_eq!(get(open.addr, "/..", &[]).status, 404, "never ..");
}

/// A 5 GiB sparse file (past every 32-bit size) is served whole, with the right
/// Content-Length and sha256, and a range near its end is exact.
#[test]
fn step06_serves_a_5_gib_file_and_a_range_near_its_end() {
    let site = Site::new();
    let path = site.root().join("big.bin");
    let size: u64 = 5 << 30;
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(size).unwrap();
    // A few marked places, so the bytes are not all zero: the start, across 4 GiB, the end.
    use std::os::unix::fs::FileExt;
    let marks: [(u64, &[u8]); 3] = [
        (0, b"start"),
        ((4 << 30) - 3, b"four-gib"),
        (size - 3, b"end"),
    ];
    for (offset, mark) in marks {
        file.write_all_at(mark, offset).unwrap();
    }
    drop(file);
    let server = site.start(&[]);
    let mut client = net::connect(server.addr);
    client
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    // Read the head, then hash the body as it streams.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        client.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(String::from_utf8_lossy(&head).contains(&format!("\r\nContent-Length: {size}\r\n")));
    use sha2::Digest;
    let mut received = sha2::Sha256::new();
    let mut total = 0u64;
    let mut chunk = vec![0u8; 1 << 20];
    loop {
        let n = client.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        received.update(&chunk[..n]);
        total += n as u64;
    }
    assert_eq!(total, size);
    let mut expected = sha2::Sha256::new();
    let zeros = vec![0u8; 1 << 20];
    let mut at = 0u64;
    let mut marks_left = marks.to_vec();
    while at < size {
        let next_mark = marks_left.first().map_or(size, |m| m.0);
        if at == next_mark {
            let (_, mark) = marks_left.remove(0);
            expected.update(mark);
            at += mark.len() as u64;
            continue;
        }
        let step = (next_mark - at).min(zeros.len() as u64);
        expected.update(&zeros[..step as usize]);
        at += step;
    }
    assert_eq!(
        format!("{:x}", received.finalize()),
        format!("{:x}", expected.finalize())
    );

    let r = get(
        server.addr,
        "/big.bin",
        &[&format!("Range: bytes={}-", size - 10)],
    );
    assert_eq!(
        r.field("Content-Range"),
        Some(format!("bytes {}-{}/{size}", size - 10, size - 1).as_str())
    );
    assert_eq!(r.body, b"\0\0\0\0\0\0\0end");
    std::fs::remove_file(&path).unwrap();
}

/// A client that resets mid-transfer costs its child a clean exit; the next request
/// is served as usual.
#[test]
fn step06_a_client_vanishing_mid_transfer_costs_one_child() {
    let site = Site::new();
    std::fs::write(site.root().join("large.bin"), random_bytes(8, 64 << 20)).unwrap();
    let server = site.start(&[]);
    let mut client = net::connect(server.addr);
    client
        .write_all(b"GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut some = vec![0u8; 1 << 20];
    client.read_exact(&mut some).unwrap();
    net::reset(client);
    eventually("the child is gone", || {
        children(server.proc.pid()).is_empty()
    });
    assert_eq!(get(server.addr, "/hello.txt", &[]).body, b"hello, world\n");
    assert!(!server.proc.stderr().contains("panicked"));
}

/// 2 000 requests on as many connections, then no child is left and the parent holds as
/// many descriptors as before.
#[test]
fn step06_reaps_every_child_after_2000_requests() {
    let site = Site::new();
    let server = site.start(&[]);
    let pid = server.proc.pid();
    let fds_before = open_fds(pid);
    for _ in 0..2000 {
        let reply = exchange(server.addr, b"GET /hello.txt HTTP/1.0\r\n\r\n");
        assert!(reply.ends_with(b"hello, world\n"));
    }
    eventually("every child reaped", || children(pid).is_empty());
    eventually("descriptors back", || open_fds(pid) == fds_before);
}

/// `--max-clients 2` with two idle keep-alive connections: the third gets 503 with
/// Retry-After, from the parent, without a fork.
#[test]
fn step06_max_clients_answers_503() {
    let site = Site::new();
    let server = site.start(&["--max-clients", "2"]);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = net::connect(server.addr);
        c.write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = c.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
        held.push(c);
    }
    assert_eq!(children(server.proc.pid()).len(), 2);
    let reply = raw(server.addr, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        reply.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "{reply}"
    );
    assert!(reply.contains("\r\nRetry-After: 1\r\n"));
    assert_eq!(
        children(server.proc.pid()).len(),
        2,
        "no fork for the busy answer"
    );
}

/// The C of the slides and the Rust server return the same bytes for the same file.
#[test]
fn step06_c_and_rust_serve_the_same_body() {
    let site = Site::new();
    std::fs::write(site.root().join("same.bin"), random_bytes(10, 300_000)).unwrap();
    let rust = site.start(&[]);
    let root = site.root();
    let c = Server::start(&c_original(STEP), &["-r", root.to_str().unwrap()]);
    let from_rust = parse_all(
        &exchange(rust.addr, b"GET /same.bin HTTP/1.0\r\n\r\n"),
        false,
    )
    .remove(0);
    let from_c = parse_all(&exchange(c.addr, b"GET /same.bin HTTP/1.0\r\n\r\n"), false).remove(0);
    assert_eq!((from_rust.status, from_c.status), (200, 200));
    assert_eq!(sha256_hex(&from_rust.body), sha256_hex(&from_c.body));
    assert_eq!(from_rust.body.len(), 300_000);
}

/// IPv6: `--bind ::1` listens on `[::1]:PORT`; `--bind ::` answers IPv4 and IPv6
/// clients on one socket.
#[test]
fn step06_ipv6_and_dual_stack() {
    let site = Site::new();
    let root = site.root();
    let v6 = Server::launch(Launch::new(
        &rust_binary(STEP),
        &["-p", "0", "-b", "::1", "--root", root.to_str().unwrap()],
    ));
    assert!(
        v6.proc.stderr().starts_with("listening on [::1]:"),
        "{}",
        v6.proc.stderr()
    );
    assert_eq!(get(v6.addr, "/hello.txt", &[]).status, 200);
    let both = Server::launch(Launch::new(
        &rust_binary(STEP),
        &["-p", "0", "-b", "::", "--root", root.to_str().unwrap()],
    ));
    let port = both.port();
    assert_eq!(
        get(SocketAddr::from(([127, 0, 0, 1], port)), "/hello.txt", &[]).status,
        200
    );
    assert_eq!(
        get(
            SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
            "/hello.txt",
            &[]
        )
        .status,
        200
    );
    let done = Launch::new(
        &rust_binary(STEP),
        &["-b", "::1::2", "--root", root.to_str().unwrap()],
    )
    .spawn()
    .wait_exit();
    assert_eq!(
        (done.code, done.stderr.as_str()),
        (Some(10), "inet_pton: invalid address '::1::2'\n")
    );
}

/// Each request is one Common Log Format line on stdout.
#[test]
fn step06_access_log_is_common_log_format() {
    let site = Site::new();
    let server = site.start(&[]);
    get(server.addr, "/hello.txt", &[]);
    get(server.addr, "/missing", &[]);
    let log = server.proc.wait_stdout_count("\n", 2);
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines[0].starts_with("127.0.0.1 - - ["), "{log}");
    assert!(
        lines[0].ends_with("] \"GET /hello.txt HTTP/1.1\" 200 13"),
        "{log}"
    );
    let date = lines[0]
        .split('[')
        .nth(1)
        .unwrap()
        .split(']')
        .next()
        .unwrap();
    assert_eq!(date.len(), "23/Nov/2026:22:05:00 +0000".len(), "{date}");
    assert!(date.ends_with(" +0000") && date.as_bytes()[2] == b'/' && date.as_bytes()[6] == b'/');
    assert!(lines[1].contains("\"GET /missing HTTP/1.1\" 404 "), "{log}");
}

/// curl, a real client, agrees: status codes, a range, a redirect followed.
#[test]
fn step06_curl_agrees() {
    if !tests::require_tool("curl") {
        return;
    }
    let site = Site::new();
    let server = site.start(&[]);
    let url = |p: &str| format!("http://{}{p}", server.addr);
    let curl = |args: &[&str]| Launch::new(Path::new("curl"), args).spawn().wait_exit();
    let done = curl(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url("/hello.txt"),
    ]);
    assert_eq!(done.stdout_text(), "200");
    let done = curl(&["-s", "-r", "0-4", &url("/hello.txt")]);
    assert_eq!(done.stdout_text(), "hello");
    let done = curl(&["-s", "-L", &url("/with-index")]);
    assert_eq!(done.stdout_text(), "inner index");
    let done = curl(&[
        "-s",
        "--path-as-is",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &url("/../outside.txt"),
    ]);
    assert_eq!(done.stdout_text(), "404");
}

/// `--daemon`: the step05 routine. The launcher returns once the server listens, the
/// access log goes to syslog, and SIGTERM removes the pid file.
#[test]
fn step06_daemon_mode_serves_and_logs_to_syslog() {
    if !tests::daemon::can_use_namespaces() {
        return;
    }
    let site = Site::new();
    let syslog = tests::daemon::Syslog::new();
    let pid_file = site.dir.join("d.pid");
    let root = site.root();
    let launcher = syslog
        .launch(
            &rust_binary(STEP),
            &[
                "--daemon",
                "-p",
                "0",
                "-b",
                "127.0.0.1",
                "--root",
                root.to_str().unwrap(),
                "--pid-file",
                pid_file.to_str().unwrap(),
            ],
        )
        .spawn()
        .wait_exit();
    assert_eq!(launcher.code, Some(0), "{}", launcher.stderr);
    let addr = tests::process::listening_address(&launcher.stderr).unwrap();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let daemon = tests::daemon::Detached { pid };
    assert!(launcher.stderr.ends_with(&format!("daemon pid {pid}\n")));
    assert_eq!(get(addr, "/hello.txt", &[]).body, b"hello, world\n");
    let record = syslog.wait_for("\"GET /hello.txt HTTP/1.1\" 200 13");
    assert!(record.contains("step06-fileserver["), "{record}");
    daemon.signal(libc::SIGTERM);
    eventually("the daemon is gone", || !daemon.alive());
    assert!(!pid_file.exists());
}

/// A link with an absolute target inside the root is followed, as a relative one is;
/// absolute or relative, a link that leaves the root is 404, and so is `..`.
#[test]
fn step06_follows_absolute_links_that_stay_inside_the_root() {
    let site = Site::new();
    let root = std::fs::canonicalize(site.root()).unwrap();
    std::os::unix::fs::symlink(root.join("style.css"), root.join("abs-inside")).unwrap();
    std::os::unix::fs::symlink(root.join("docs"), root.join("abs-dir")).unwrap();
    std::os::unix::fs::symlink(root.join("../outside.txt"), root.join("abs-out")).unwrap();
    let server = site.start(&[]);
    let r = get(server.addr, "/abs-inside", &[]);
    assert_eq!(
        (r.status, &r.body[..]),
        (200, &b"body { color: red; }\n"[..])
    );
    assert_eq!(get(server.addr, "/abs-dir/a.txt", &[]).body, b"a");
    for refused in [
        "/abs-out",
        "/link-out.txt",
        "/etc-link/passwd",
        "/../outside.txt",
    ] {
        let reply = raw(
            server.addr,
            &format!("GET {refused} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert!(
            reply.starts_with("HTTP/1.1 404") && !reply.contains(SECRET),
            "{refused}: {reply}"
        );
    }
}

/// A file is not a directory: `/hello.txt/` is 404 (nginx, lighttpd and Apache agree),
/// while `/hello.txt` and a directory with its slash are served.
#[test]
fn step06_a_file_with_a_trailing_slash_is_404() {
    let site = Site::new();
    let server = site.start(&[]);
    assert_eq!(get(server.addr, "/hello.txt/", &[]).status, 404);
    assert_eq!(get(server.addr, "/hello.txt%2f", &[]).status, 404);
    assert_eq!(get(server.addr, "/docs/a.txt/", &[]).status, 404);
    assert_eq!(get(server.addr, "/hello.txt", &[]).status, 200);
    assert_eq!(get(server.addr, "/docs/", &[]).status, 200);
    assert_eq!(get(server.addr, "/with-index/", &[]).body, b"inner index");
}

/// `--daemon` with a relative `--root` (the default `.` included): the daemon routine
/// changes directory to `/`, yet the root is the folder the command was started in.
/// Nothing outside it is served: not `/etc/hostname`, not a listing of `/`.
#[test]
fn step06_daemon_with_a_relative_root_serves_only_that_root() {
    if !tests::daemon::can_use_namespaces() {
        return;
    }
    let site = Site::new();
    let syslog = tests::daemon::Syslog::new();
    let pid_file = site.dir.join("d.pid");
    let confined: &[&str] = &["--chroot", "--user", "nobody"];
    for (root, extra) in [(".", &[][..]), ("root", &[]), ("root", confined)] {
        let cwd = if root == "." {
            site.root()
        } else {
            site.dir.path().to_path_buf()
        };
        let mut args = vec![
            "--daemon",
            "-p",
            "0",
            "-b",
            "127.0.0.1",
            "--root",
            root,
            "--pid-file",
            pid_file.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let launcher = syslog
            .launch(&rust_binary(STEP), &args)
            .current_dir(&cwd)
            .spawn()
            .wait_exit();
        assert_eq!(launcher.code, Some(0), "{}", launcher.stderr);
        let addr = tests::process::listening_address(&launcher.stderr).unwrap();
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let daemon = tests::daemon::Detached { pid };
        assert_eq!(
            get(addr, "/hello.txt", &[]).body,
            b"hello, world\n",
            "--root {root} {extra:?}"
        );
        for outside in ["/etc/hostname", "/etc/passwd", "/proc/self/status"] {
            assert_eq!(
                get(addr, outside, &[]).status,
                404,
                "--root {root} {extra:?}: {outside}"
            );
        }
        let listing = get(addr, "/", &[]);
        assert_eq!(
            listing.body, b"<h1>root index</h1>\n",
            "--root {root} {extra:?}: / is the root's index"
        );
        daemon.signal(libc::SIGTERM);
        eventually("the daemon is gone", || !daemon.alive());
    }
}

/// `--chroot --user nobody`, started as root: the server's root directory is the site
/// (`/proc/PID/root`), its children run as nobody, and it still serves, and still
/// refuses to leave.
#[test]
fn step06_chroot_and_user_confine_the_server() {
    if !tests::daemon::can_use_namespaces() {
        return;
    }
    let site = Site::new();
    let server = site.start(&["--chroot", "--user", "nobody"]);
    let pid = server.proc.pid();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        std::fs::canonicalize(site.root()).unwrap()
    );
    let mut client = net::connect(server.addr);
    client
        .write_all(b"GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = client.read(&mut buf).unwrap();
    assert!(buf[..n].ends_with(b"hello, world\n"));
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let kids = children(pid);
    assert_eq!(kids.len(), 1);
    let status = std::fs::read_to_string(format!("/proc/{}/status", kids[0].pid)).unwrap();
    assert!(
        status.contains(&format!("Uid:\t{0}\t{0}\t{0}\t{0}\n", nobody.uid)),
        "{status}"
    );
    let reply = raw(
        server.addr,
        "GET /../outside.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.starts_with("HTTP/1.1 404") && !reply.contains(SECRET));
    assert_eq!(get(server.addr, "/link-out.txt", &[]).status, 404);
}

/// A directory whose name holds CR LF: the 301's Location carries it percent-encoded,
/// so no header can be injected; the query is kept, encoded the same way.
#[test]
fn step06_redirects_never_inject_headers() {
    let site = Site::new();
    std::fs::create_dir(site.root().join("a\r\nSet-Cookie: x=1")).unwrap();
    let server = site.start(&[]);
    let reply = raw(
        server.addr,
        "GET /a%0d%0aSet-Cookie:%20x=1?q=%0d%0aX:%20y HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(reply.starts_with("HTTP/1.1 301 "), "{reply}");
    let head = reply.split("\r\n\r\n").next().unwrap();
    assert!(
        !head.contains("\r\nSet-Cookie") && !head.contains("\r\nX: y"),
        "{head}"
    );
    assert!(
        head.contains("\r\nLocation: /a%0D%0ASet-Cookie%3A%20x%3D1/?q=%0d%0aX:%20y\r\n"),
        "{head}"
    );
}

/// SIGTERM: the parent stops accepting, removes its pid file and exits 0; a transfer
/// already running in a child completes.
#[test]
fn step06_sigterm_stops_the_parent_and_lets_transfers_finish() {
    let site = Site::new();
    std::fs::write(site.root().join("large.bin"), random_bytes(11, 32 << 20)).unwrap();
    let pid_file = site.dir.join("s.pid");
    let mut server = site.start(&["--pid-file", pid_file.to_str().unwrap()]);
    let mut client = net::connect(server.addr);
    client
        .write_all(b"GET /large.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut first = vec![0u8; 4096];
    client.read_exact(&mut first).unwrap();
    server.proc.signal(libc::SIGTERM);
    let rest = net::read_to_end(&mut client);
    let head_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(
        first.len() - head_end + rest.len(),
        32 << 20,
        "the transfer completed"
    );
    // Our close lets the child finish its right-way close and exit.
    drop(client);
    let done = server.proc.wait_exit();
    assert_eq!(done.code, Some(0));
    assert!(!pid_file.exists());
}

#[test]
fn step06_refuses_to_start_without_openat2() {
    // On a kernel without openat2 (before 5.6), or in a sandbox that filters it, every
    // file would be a 404. The server must say so at start and stop instead.
    let tools = TempDir::new("deny-syscall");
    let wrapper = tools.join("deny-syscall");
    tests::bins::compile_c("tests/c/deny-syscall.c", &wrapper);
    let site = Site::new();
    let root = site.root();
    let step06 = rust_binary(STEP);
    let openat2 = libc::SYS_openat2.to_string();
    let args = |nr: &str| {
        vec![
            nr.to_string(),
            step06.to_str().unwrap().to_string(),
            "--root".to_string(),
            root.to_str().unwrap().to_string(),
            "-p".to_string(),
            "0".to_string(),
            "-b".to_string(),
            "127.0.0.1".to_string(),
        ]
    };
    let denied = args(&openat2);
    let denied: Vec<&str> = denied.iter().map(String::as_str).collect();
    let done = Launch::new(&wrapper, &denied)
        .spawn()
        .wait_exit_within(Duration::from_secs(10));
    assert_eq!(done.code, Some(1), "stderr: {}", done.stderr);
    assert!(
        done.stderr.contains("openat2: Function not implemented"),
        "stderr: {}",
        done.stderr
    );
    // The same wrapper denying a call nobody makes changes nothing: the server serves.
    let allowed = args("9999");
    let allowed: Vec<&str> = allowed.iter().map(String::as_str).collect();
    let mut server = Server::launch(Launch::new(&wrapper, &allowed));
    let r = get(server.addr, "/hello.txt", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello, world\n");
    server.proc.signal(libc::SIGTERM);
    assert_eq!(server.proc.wait_exit().code, Some(0));
}
