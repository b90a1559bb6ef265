//! What the crate's `src/` serves beyond `original.c`, checked with `--beyond` only:
//! marked `(beyond)`, never counted in the exit code. One cheap request or two each;
//! the C original fails them all, as it should.

use std::io::Write;

use super::http::read_framed;
use super::root::{notes_txt, STYLE_CSS};
use super::site::{expect_file, got, site, Answer};
use crate::lab::check::{Check, Failure, NotPassed};
use crate::lab::ctx::{deadline, Ctx};
use crate::lab::report::shown;

/// A folder without index.html lists its files.
pub const LISTING: Check = Check {
    id: "step06/listing",
    slide: 52,
    what: "a folder without index.html gets a listing of its files",
    beyond: true,
    applies_to: &[6],
    run: listing,
};

/// A folder asked for without its slash is redirected to it.
pub const REDIRECT: Check = Check {
    id: "step06/redirect",
    slide: 52,
    what: "a folder asked for without its slash (GET /sub) is redirected to /sub/",
    beyond: true,
    applies_to: &[6],
    run: redirect,
};

/// `%20` in the target is a space in the file's name.
pub const PERCENT: Check = Check {
    id: "step06/percent-decoding",
    slide: 52,
    what: "a percent-encoded target (/with%20space.txt) names its file",
    beyond: true,
    applies_to: &[6],
    run: percent,
};

/// `Range: bytes=0-9` gets those bytes.
pub const RANGES: Check = Check {
    id: "step06/ranges",
    slide: 52,
    what: "Range: bytes=0-9 gets 206 Partial Content and those 10 bytes",
    beyond: true,
    applies_to: &[6],
    run: ranges,
};

/// A cache asking whether the file changed gets 304.
pub const CONDITIONAL: Check = Check {
    id: "step06/conditional",
    slide: 52,
    what: "If-None-Match with the file's ETag (or If-Modified-Since) gets 304 Not Modified",
    beyond: true,
    applies_to: &[6],
    run: conditional,
};

/// Two requests on one HTTP/1.1 connection.
pub const KEEP_ALIVE: Check = Check {
    id: "step06/keep-alive",
    slide: 52,
    what: "two requests on one HTTP/1.1 connection are both answered (keep-alive)",
    beyond: true,
    applies_to: &[6],
    run: keep_alive,
};

/// `METHOD TARGET HTTP/1.0`, the header lines, the empty line.
fn request(method: &str, target: &str, fields: &[String]) -> Vec<u8> {
    let mut text = format!("{method} {target} HTTP/1.0\r\n");
    for field in fields {
        text.push_str(field);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// A failure of a beyond check: the status or the head was not the one expected.
fn failed(answer: &Answer, expected: &str, hint: &str) -> NotPassed {
    Failure::new(answer.sent.clone(), expected, got(answer), hint).into()
}

fn listing(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let answer = site.ask("GET", "/files/")?;
    let expected = "200, an HTML page naming a.txt and b.txt";
    let listed = answer.response.as_ref().is_ok_and(|r| {
        let body = String::from_utf8_lossy(&r.body);
        r.status == 200
            && r.media_type().as_deref() == Some("text/html")
            && body.contains("a.txt")
            && body.contains("b.txt")
    });
    if listed {
        return Ok(());
    }
    Err(failed(&answer, expected, "read the folder (opendir, readdir) and answer an HTML page with a link per name; the crate's listing.rs shows one way"))
}

fn redirect(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let answer = site.ask("GET", "/sub")?;
    let moved = answer.response.as_ref().is_ok_and(|r| {
        matches!(r.status, 301 | 302 | 307 | 308)
            && r.field("Location").is_some_and(|l| l.ends_with("/sub/"))
    });
    if moved {
        return Ok(());
    }
    Err(failed(&answer, "301 Moved Permanently, Location: /sub/", "a folder's relative links (style.css) resolve against its URL with the slash: answer 301 with Location: the target and \"/\""))
}

fn percent(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let answer = site.ask("GET", "/with%20space.txt")?;
    expect_file(&site, &answer, "with space.txt", b"a name with a space\n").map_err(|mut f| {
        f.hint = "a target is percent-encoded (RFC 3986 §2.1): decode %20 to a space, once, before looking for the file (and before refusing \"..\")".into();
        f
    })?;
    Ok(())
}

fn ranges(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let file = notes_txt();
    let answer = site.ask_raw(&request(
        "GET",
        "/notes.txt",
        &["Range: bytes=0-9".to_string()],
    ))?;
    let expected = format!(
        "206, Content-Range: bytes 0-9/{}, then {}",
        file.len(),
        shown(&file[..10])
    );
    let partial = answer.response.as_ref().is_ok_and(|r| {
        r.status == 206
            && r.field("Content-Range") == Some(&format!("bytes 0-9/{}", file.len()))
            && r.body == file[..10]
    });
    if partial {
        return Ok(());
    }
    Err(failed(&answer, &expected, "parse Range (RFC 9110 §14.2), lseek to its first byte, send its length, and answer 206 with Content-Range"))
}

fn conditional(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let first = site.ask("GET", "/notes.txt")?;
    let first = expect_file(&site, &first, "notes.txt", &notes_txt())?;
    let validator = match (first.field("ETag"), first.field("Last-Modified")) {
        (Some(tag), _) => format!("If-None-Match: {tag}"),
        (None, Some(date)) => format!("If-Modified-Since: {date}"),
        (None, None) => {
            return Err(Failure::new(
                "GET /notes.txt HTTP/1.0",
                "an ETag or a Last-Modified header line",
                "neither",
                "give the file a validator a cache can send back: ETag (from size and mtime) or Last-Modified (mtime, RFC 9110 §8.8)",
            )
            .into())
        }
    };
    let answer = site.ask_raw(&request("GET", "/notes.txt", &[validator]))?;
    let not_modified = answer
        .response
        .as_ref()
        .is_ok_and(|r| r.status == 304 && r.body.is_empty());
    if not_modified {
        return Ok(());
    }
    Err(failed(&answer, "304 Not Modified, no body", "compare If-None-Match with the file's ETag (or If-Modified-Since with its mtime) and answer 304, head only (RFC 9110 §13.1)"))
}

fn keep_alive(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let mut stream = site.server.connect()?;
    let host = site.server.address();
    let files: [(&str, Vec<u8>); 2] = [("style.css", STYLE_CSS.into()), ("notes.txt", notes_txt())];
    let mut sent = String::new();
    for (name, body) in files {
        let request = format!("GET /{name} HTTP/1.1\r\nHost: {host}\r\n\r\n");
        sent.push_str(&shown(request.as_bytes()));
        sent.push_str(" on one connection\n");
        let _ = stream.write_all(request.as_bytes());
        let framed = read_framed(&mut stream, false, deadline());
        let answer = Answer {
            sent: sent.trim_end().to_string(),
            raw: framed.raw,
            response: framed.response,
        };
        expect_file(&site, &answer, name, &body).map_err(|mut f| {
            f.hint = "HTTP/1.1 keeps the connection open by default (RFC 9112 §9.3): after an answer with Content-Length, read the next request on the same connection".into();
            f
        })?;
    }
    Ok(())
}
