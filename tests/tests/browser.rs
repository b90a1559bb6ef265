//! A real browser loads the demo site: headless Chromium fetches the index page, its
//! stylesheet and image, then each page the index links to; the access log must show
//! every one of them answered 200.

// Test code: an unwrap that fails is a failing test, with its location.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use tests::bins::workspace_root;
use tests::daemon::TempDir;
use tests::process::Launch;
use tests::{require_tool, rust_binary, Server};

/// Every `href="…"` and `src="…"` of a page, in order.
fn references(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["href=\"", "src=\""] {
        for piece in page.split(attribute).skip(1) {
            found.push(piece.split('"').next().unwrap().to_string());
        }
    }
    found
}

/// Load `url` in headless Chromium and return the DOM it built.
fn dump_dom(url: &str, profile: &Path) -> String {
    let profile = format!("--user-data-dir={}", profile.display());
    let done = Launch::new(
        Path::new("chromium"),
        &[
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &profile,
            "--dump-dom",
            url,
        ],
    )
    .spawn()
    .wait_exit();
    assert_eq!(done.code, Some(0), "chromium: {}", done.stderr);
    done.stdout_text()
}

/// Open the demo site as a user would (README's main command), in a real browser.
#[test]
fn a_browser_loads_the_demo_site_and_every_linked_page() {
    if !require_tool("chromium") {
        return;
    }
    let www = workspace_root().join("step06-fileserver/www");
    let server = Server::start(
        &rust_binary("step06-fileserver"),
        &["--root", www.to_str().unwrap()],
    );
    let base = format!("http://{}/", server.addr);
    let profile = TempDir::new("chromium");

    let dom = dump_dom(&base, profile.path());
    assert!(
        dom.contains("How little more we need to serve files"),
        "{dom}"
    );
    let index = std::fs::read_to_string(www.join("index.html")).unwrap();
    let references = references(&index);
    let embedded: Vec<&String> = references
        .iter()
        .filter(|r| r.ends_with(".css") || r.ends_with(".png"))
        .collect();
    assert!(
        embedded.len() >= 2,
        "a stylesheet and an image: {references:?}"
    );
    for resource in &embedded {
        server
            .proc
            .wait_stdout_count(&format!("\"GET /{resource} HTTP/1.1\" 200 "), 1);
    }
    let links: Vec<&String> = references
        .iter()
        .filter(|r| !r.ends_with(".png") && !r.starts_with("http"))
        .collect();
    assert!(
        links.iter().any(|l| l.ends_with('/')),
        "the index links a listing: {links:?}"
    );
    for link in links {
        let dom = dump_dom(&format!("{base}{link}"), profile.path());
        assert!(!dom.contains("404 Not Found"), "{link}: {dom}");
        server
            .proc
            .wait_stdout_count(&format!("\"GET /{link} HTTP/1.1\" 200 "), 1);
        if link.ends_with('/') {
            assert!(dom.contains("Index of /"), "{link} is a listing: {dom}");
        }
    }
    let log = String::from_utf8_lossy(&server.proc.stdout()).into_owned();
    for line in log.lines().filter(|l| !l.contains("/favicon.ico")) {
        assert!(
            line.contains("\" 200 ") || line.contains("\" 304 "),
            "not 200: {line}"
        );
    }
}
