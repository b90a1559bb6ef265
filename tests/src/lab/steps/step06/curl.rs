//! `step06/curl`: the requests real clients send. A server tested by hand with
//! `printf 'GET / HTTP/1.0\r\n\r\n' | nc` can still fail every one of them: curl and
//! browsers speak HTTP/1.1, send several header lines, ask to keep the connection
//! open, and TCP may hand the request over in parts.
//!
//! In order: curl's request and a browser's, each in one write; the browser's cut in
//! two inside the request line (the second part sent once the server has read the
//! first); then curl itself, when it is installed (`.ci/run` installs it).

use std::ffi::OsString;
use std::fs;

use super::root::INDEX_HTML;
use super::site::{expect_file, site, Answer, Site};
use crate::lab::check::{Failure, NotPassed};
use crate::lab::ctx::{deadline, Ctx, DEADLINE};
use crate::lab::report::shown;
use crate::lab::run::{describe_status, Running, Stdin};
use crate::lab::scratch::Scratch;
use crate::lab::target::find_program;

/// What curl 7.88 sends for `curl http://127.0.0.1:P/index.html`.
fn curl_request(host: &str) -> String {
    format!(
        "GET /index.html HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
    )
}

/// What a browser (Chromium 120) sends when a link to the page is clicked.
fn browser_request(host: &str) -> String {
    format!(
        "GET /index.html HTTP/1.1\r\n\
         Host: {host}\r\n\
         Connection: keep-alive\r\n\
         Upgrade-Insecure-Requests: 1\r\n\
         User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36\r\n\
         Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8\r\n\
         Accept-Encoding: gzip, deflate, br\r\n\
         Accept-Language: en-US,en;q=0.9\r\n\
         \r\n"
    )
}

/// Where the browser's request is cut: inside the request line, so a server that
/// takes one `recv` for the whole request sees "GET /ind" and nothing more.
const CUT: usize = "GET /ind".len();

/// The check: every one of these requests gets index.html, whole.
pub fn curl(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let host = site.server.address().to_string();
    let curls = site.ask_open(curl_request(&host).as_bytes(), None)?;
    judge(&site, &curls, Trial::Http11)?;
    let browser = browser_request(&host);
    let whole = site.ask_open(browser.as_bytes(), None)?;
    judge(&site, &whole, Trial::Http11)?;
    let parts = site.ask_open(browser.as_bytes(), Some(CUT))?;
    judge(&site, &parts, Trial::InParts)?;
    real_curl(&site)
}

/// What a request tries that the ones before it had not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trial {
    /// HTTP/1.1 itself, with its header lines.
    Http11,
    /// The request arriving in two parts.
    InParts,
}

impl Trial {
    /// The hint for a request the server failed itself (no answer, 400 or 505),
    /// and the slide it points to when not the check's own.
    fn hint(self, status: Option<u16>) -> (&'static str, Option<u32>) {
        match (self, status) {
            (Trial::Http11, Some(400 | 505)) => ("curl and browsers send \"HTTP/1.1\": accept every HTTP/1.x version (compare the first 7 characters, \"HTTP/1.\"); the answer may stay HTTP/1.0 (RFC 9110 §6.2)", None),
            (Trial::Http11, _) => ("an HTTP/1.1 request carries header lines (Host, User-Agent, Accept…) after the request line: read until the empty line that ends them, and answer as to HTTP/1.0", None),
            (Trial::InParts, _) => ("the request came in two parts and only the first was read: one recv may bring part of the head; recv in a loop until the empty line \"\\r\\n\\r\\n\" has arrived", Some(51)),
        }
    }
}

/// index.html, whole: the shared judgement, with this trial's hint when the
/// server failed the request itself (no answer, 400, 505).
fn judge(site: &Site, answer: &Answer, trial: Trial) -> Result<(), NotPassed> {
    let Err(mut failure) = expect_file(site, answer, "index.html", INDEX_HTML.as_bytes()) else {
        return Ok(());
    };
    let status = answer.response.as_ref().ok().map(|r| r.status);
    let stayed_open = answer
        .response
        .as_ref()
        .err()
        .is_some_and(|e| e.contains("stayed open"));
    if stayed_open {
        failure.hint = "the connection stayed open and the answer did not say where it ends: send Content-Length (or close the connection after the answer, HTTP/1.0's way)".into();
    } else if matches!(status, None | Some(400 | 505)) && !failure.hint.contains("todo!()") {
        let (hint, slide) = trial.hint(status);
        failure.hint = hint.into();
        failure.slide = slide;
    }
    Err(failure.into())
}

/// `curl http://127.0.0.1:P/index.html`, when curl is installed: exit 0, 200, the
/// file. (Without curl, its request was sent above, byte for byte.)
fn real_curl(site: &Site) -> Result<(), NotPassed> {
    let Some(curl) = find_program("curl".as_ref()) else {
        return Ok(());
    };
    let scratch = Scratch::new("curl").map_err(|e| {
        Failure::new(
            "nothing yet",
            "a folder for curl's output",
            format!("it could not be made: {e}"),
            "the temporary folder is not writable or full; free some space and try again",
        )
    })?;
    let body_file = scratch.path().join("body");
    let url = site.url("/index.html");
    let argv: Vec<OsString> = vec![
        curl.into(),
        "--silent".into(),
        "--show-error".into(),
        "--noproxy".into(),
        "*".into(),
        "--max-time".into(),
        DEADLINE.as_secs().to_string().into(),
        "--output".into(),
        body_file.clone().into(),
        "--write-out".into(),
        "%{http_code}".into(),
        url.clone().into(),
    ];
    let sent = format!("curl {url}");
    let expected = format!("exit 0, 200, then index.html ({} bytes)", INDEX_HTML.len());
    let mut run = Running::start(&argv, &[], Stdin::Null).map_err(|e| {
        Failure::new(
            sent.clone(),
            expected.clone(),
            format!("curl could not be started: {e}"),
            "curl is installed but does not run here; check it by hand",
        )
    })?;
    let status = run.wait_exit(deadline());
    let code = String::from_utf8_lossy(&run.stdout()).trim().to_string();
    let body = fs::read(&body_file).unwrap_or_default();
    let passed =
        status.is_some_and(|s| s.success()) && code == "200" && body == INDEX_HTML.as_bytes();
    if passed {
        return Ok(());
    }
    let how = status.map_or_else(|| "still running".to_string(), describe_status);
    let got = format!(
        "curl: {how}, status {code}, stderr {}\nbody {}",
        shown(&run.stderr()),
        shown(&body)
    );
    Err(Failure::new(sent, expected, got, curl_hint(&code, &run.stderr())).into())
}

/// curl's own words, turned into the likely mistake.
fn curl_hint(code: &str, stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    if text.contains("(52)") {
        "curl got an empty reply: the child closed the connection without answering".into()
    } else if text.contains("(18)") {
        "curl got fewer body bytes than Content-Length announced: send the whole file (sendall), and give its exact size".into()
    } else if text.contains("(8)") || text.contains("(1)") {
        "curl could not read the answer as HTTP: a status line (HTTP/1.0 200 OK), header lines, an empty line, each line ending in \"\\r\\n\"".into()
    } else if text.contains("(28)") {
        "curl waited in vain for the end of the answer: send Content-Length, or close the connection after the body".into()
    } else if code == "400" || code == "505" {
        Trial::Http11.hint(code.parse().ok()).0.into()
    } else {
        "what curl shows differs from the answers to the raw requests above: run the same curl -v by hand".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curls_errors_become_the_likely_mistake() {
        let hint = |code, stderr: &str| curl_hint(code, stderr.as_bytes());
        assert!(hint("000", "curl: (52) Empty reply from server").contains("without answering"));
        assert!(
            hint("200", "curl: (18) transfer closed with 100 bytes remaining").contains("sendall")
        );
        assert!(hint("400", "").contains("accept every HTTP/1.x version"));
        assert!(browser_request("h:1").ends_with("\r\n\r\n"));
        assert!(browser_request("h:1").contains("\r\nAccept-Encoding: gzip"));
        assert_eq!(&curl_request("h:1")[..CUT], "GET /ind");
    }
}
