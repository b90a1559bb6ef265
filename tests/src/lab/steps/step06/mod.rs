//! Step 06, serve files (slides 48–53): the program is run as `PROG -p P -r ROOT`,
//! ROOT a folder the checker makes for each check ([`root`]), with a secret file
//! beside it that no answer may carry.
//!
//! By default the checks ask what `original.c` serves, as `printf … | nc` would ask
//! it: HTTP/1.0 requests, one per connection, read until the server closes; then
//! the requests curl and a browser send (HTTP/1.1, several header lines,
//! keep-alive), whole and in two parts. What the crate's `src/` serves beyond the
//! C (listings, redirects, ranges, conditionals, percent-decoding, keep-alive) is
//! in [`beyond`], marked and never counted.

use crate::lab::check::{Check, Failure, NotPassed};
use crate::lab::ctx::Ctx;

mod beyond;
mod curl;
mod http;
mod root;
mod site;

pub(crate) use root::Root;

use root::{notes_txt, INDEX_HTML, LOGO_PNG, SECRET_MARK, STYLE_CSS, SUB_INDEX_HTML};
use site::{expect_file, got, no_answer, site, Answer};

/// The checks of step 06, in the order a student meets them.
pub static CHECKS: [Check; 15] = [
    Check {
        id: "step06/get",
        slide: 52,
        what: "GET of a file answers 200 and the file, byte for byte (text and PNG)",
        beyond: false,
        applies_to: &[6],
        run: get,
    },
    Check {
        id: "step06/content-length",
        slide: 52,
        what: "the answer says the file's size in Content-Length",
        beyond: false,
        applies_to: &[6],
        run: content_length,
    },
    Check {
        id: "step06/content-type",
        slide: 52,
        what: "Content-Type follows the extension: text/html, text/css, image/png, text/plain",
        beyond: false,
        applies_to: &[6],
        run: content_type,
    },
    Check {
        id: "step06/head",
        slide: 52,
        what: "HEAD answers GET's head, without the body",
        beyond: false,
        applies_to: &[6],
        run: head,
    },
    Check {
        id: "step06/not-found",
        slide: 52,
        what: "a file that is not there is 404 Not Found",
        beyond: false,
        applies_to: &[6],
        run: not_found,
    },
    Check {
        id: "step06/method",
        slide: 52,
        what: "another method (POST, DELETE) is 405 Method Not Allowed",
        beyond: false,
        applies_to: &[6],
        run: method,
    },
    Check {
        id: "step06/index",
        slide: 52,
        what: "a folder (GET / and GET /sub/) answers its index.html",
        beyond: false,
        applies_to: &[6],
        run: index,
    },
    Check {
        id: "step06/dotdot",
        slide: 52,
        what: "\"..\" never reaches a file outside the root, however it is written",
        beyond: false,
        applies_to: &[6],
        run: dotdot,
    },
    Check {
        id: "step06/curl",
        slide: 52,
        what: "the requests curl and a browser send (HTTP/1.1, keep-alive, whole or in two parts) get the whole file",
        beyond: false,
        applies_to: &[6],
        run: curl::curl,
    },
    beyond::LISTING,
    beyond::REDIRECT,
    beyond::PERCENT,
    beyond::RANGES,
    beyond::CONDITIONAL,
    beyond::KEEP_ALIVE,
];

/// GET of the text file and of the PNG: 200 and the bytes of the file, no more and
/// no fewer (a NUL byte in the PNG catches a file sent as a C string).
fn get(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    for (name, body) in [("notes.txt", notes_txt()), ("logo.png", LOGO_PNG.to_vec())] {
        let answer = site.ask("GET", &format!("/{name}"))?;
        expect_file(&site, &answer, name, &body)?;
    }
    Ok(())
}

/// Content-Length is there and is the file's size.
fn content_length(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    for (name, body) in [("notes.txt", notes_txt()), ("logo.png", LOGO_PNG.to_vec())] {
        let answer = site.ask("GET", &format!("/{name}"))?;
        let response = expect_file(&site, &answer, name, &body)?;
        let expected = format!("Content-Length: {} in the head", body.len());
        let hint = match response.field("Content-Length") {
            Some(value) if value == body.len().to_string() => continue,
            Some(value) => format!("Content-Length says {value}, the file has {} bytes: give the file's size, st.st_size from fstat", body.len()),
            None => "add the header line Content-Length: the file's size in bytes (st.st_size from fstat); without it a client cannot tell a whole file from one cut off".into(),
        };
        return Err(Failure::new(answer.sent.clone(), expected, got(&answer), hint).into());
    }
    Ok(())
}

/// Content-Type by extension; a charset parameter may follow (`text/html;
/// charset=utf-8`).
fn content_type(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let files: [(&str, Vec<u8>, &str); 4] = [
        ("index.html", INDEX_HTML.into(), "text/html"),
        ("style.css", STYLE_CSS.into(), "text/css"),
        ("logo.png", LOGO_PNG.to_vec(), "image/png"),
        ("notes.txt", notes_txt(), "text/plain"),
    ];
    for (name, body, media) in files {
        let answer = site.ask("GET", &format!("/{name}"))?;
        let response = expect_file(&site, &answer, name, &body)?;
        let hint = match response.media_type() {
            Some(found) if found == media => continue,
            Some(found) => format!("Content-Type says {found} for {name}: take it from the file's extension, content_type(path) (.html text/html, .css text/css, .png image/png, .txt text/plain)"),
            None => "add the header line Content-Type: content_type(path); without it a browser guesses, and shows a page as text".into(),
        };
        let expected = format!("Content-Type: {media} (a charset may follow)");
        return Err(Failure::new(answer.sent.clone(), expected, got(&answer), hint).into());
    }
    Ok(())
}

/// HEAD: GET's status, Content-Type and Content-Length, and no body at all.
fn head(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let body = notes_txt();
    let get = site.ask("GET", "/notes.txt")?;
    let get = expect_file(&site, &get, "notes.txt", &body)?;
    let answer = site.ask("HEAD", "/notes.txt")?;
    let expected = format!(
        "GET's head (200, Content-Length: {}), then nothing",
        body.len()
    );
    let fail = |hint: String| -> NotPassed {
        Failure::new(answer.sent.clone(), expected.clone(), got(&answer), hint).into()
    };
    let response = match &answer.response {
        Ok(r) => r,
        Err(_) if answer.raw.is_empty() => return Err(no_answer(&site, &answer, &expected).into()),
        Err(e) => return Err(fail(format!("the answer to HEAD is not HTTP ({e}): the same head as GET's, ending with an empty line"))),
    };
    if response.status != 200 {
        return Err(fail(
            "HEAD is GET without the body (curl -I sends it): answer it with the same head as GET"
                .into(),
        ));
    }
    if !response.body.is_empty() {
        return Err(fail(format!(
            "{} bytes followed the head: for HEAD send the head alone (head_only), not the file",
            response.body.len()
        )));
    }
    for name in ["Content-Length", "Content-Type"] {
        if response.field(name) != get.field(name) {
            return Err(fail(format!(
                "HEAD's {name} is {:?}, GET's {:?}: HEAD's head is GET's, the same length and type",
                response.field(name),
                get.field(name)
            )));
        }
    }
    Ok(())
}

/// A file that is not in the root: 404.
fn not_found(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let answer = site.ask("GET", "/no-such-file.txt")?;
    let expected = "404 Not Found";
    let hint = match &answer.response {
        Ok(r) if r.status == 404 => return Ok(()),
        Ok(r) if r.status == 200 => "a file that is not there was answered 200: when open fails (-1), answer 404 Not Found (send_error) and close".to_string(),
        Ok(r) => format!("{} is not the status of a missing file: open failed, so 404 Not Found", r.status),
        Err(_) if answer.raw.is_empty() => "the connection closed without an answer: when open fails, send 404 Not Found (send_error) before closing".to_string(),
        Err(e) => format!("the answer is not HTTP ({e}): send_error writes a whole one"),
    };
    Err(Failure::new(answer.sent.clone(), expected, got(&answer), hint).into())
}

/// POST and DELETE of a file that is there: 405.
fn method(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    for method in ["POST", "DELETE"] {
        let request = format!("{method} /notes.txt HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
        let answer = site.ask_raw(request.as_bytes())?;
        let hint = match &answer.response {
            Ok(r) if r.status == 405 => continue,
            Ok(r) if r.status == 200 => format!("{method} was answered like GET: only GET and HEAD are served; compare the method, any other gets 405 Method Not Allowed"),
            Ok(r) if r.status == 501 => format!("{method} is a method HTTP defines, so the answer is 405 Method Not Allowed (501 is for methods a server does not know at all)"),
            Ok(r) => format!("{} is not the answer to a method this server does not serve: 405 Method Not Allowed", r.status),
            Err(_) if answer.raw.is_empty() => "the connection closed without an answer: a method other than GET and HEAD gets 405 Method Not Allowed (send_error)".to_string(),
            Err(e) => format!("the answer is not HTTP ({e}): send_error writes a whole one"),
        };
        return Err(Failure::new(
            answer.sent.clone(),
            "405 Method Not Allowed",
            got(&answer),
            hint,
        )
        .into());
    }
    Ok(())
}

/// GET / and GET /sub/: each folder's own index.html, as text/html.
fn index(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    for (target, body) in [("/", INDEX_HTML), ("/sub/", SUB_INDEX_HTML)] {
        let name = format!("{}index.html", &target[1..]);
        let answer = site.ask("GET", target)?;
        let response = expect_file(&site, &answer, &name, body.as_bytes())
            .map_err(|failure| folder_hint(failure, &answer, target))?;
        if response.media_type().as_deref() != Some("text/html") {
            let hint = format!("the Content-Type of {target} comes from the path with index.html added (text/html), not from the target");
            return Err(Failure::new(
                answer.sent.clone(),
                "Content-Type: text/html",
                got(&answer),
                hint,
            )
            .into());
        }
    }
    Ok(())
}

/// A folder's failures say what a folder needs: index.html added to the path.
fn folder_hint(mut failure: Failure, answer: &Answer, target: &str) -> Failure {
    let response = answer.response.as_ref().ok();
    if response.is_some_and(|r| r.status == 404) {
        failure.hint = format!("a target ending in \"/\" names a folder: serve the index.html in it, root + \"{target}\" + \"index.html\"");
    } else if target != "/" && response.is_some_and(|r| r.body == INDEX_HTML.as_bytes()) {
        failure.hint = format!("GET {target} brought the root's index.html: the path is root + \"{target}\" + \"index.html\"");
    }
    failure
}

/// The secret file beside the root, asked for with `..` as a raw client sends it
/// (browsers and curl remove `/../` first) and percent-encoded: its bytes must
/// never come back, whatever the status.
fn dotdot(ctx: &Ctx) -> Result<(), NotPassed> {
    let site = site(ctx)?;
    let targets = [
        ("/../secret.txt", false),
        ("/sub/../../secret.txt", false),
        ("/%2e%2e/secret.txt", true),
        ("/sub/%2E%2E/%2E%2E/secret.txt", true),
        ("/..%2fsecret.txt", true),
        ("/%2e%2e%2fsecret.txt", true),
    ];
    for (target, encoded) in targets {
        let answer = site.ask("GET", target)?;
        if !contains(&answer.raw, SECRET_MARK.as_bytes()) {
            continue;
        }
        let hint = if encoded {
            "the target is percent-decoded after the check for \"..\": %2e%2e is \"..\" once decoded; look for \"..\" in the decoded path"
        } else {
            "\"..\" climbs out of the root: refuse a target containing \"/.\" (404) before opening root + target"
        };
        return Err(Failure::new(
            answer.sent.clone(),
            format!(
                "404, and not a byte of {} (beside the root, outside it)",
                site.root.secret().display()
            ),
            got(&answer),
            hint,
        )
        .into());
    }
    Ok(())
}

/// True when `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_name_step06_and_only_beyond_ones_are_marked() {
        for check in &CHECKS {
            assert!(check.id.starts_with("step06/"), "{}", check.id);
        }
        let beyond: Vec<&str> = CHECKS.iter().filter(|c| c.beyond).map(|c| c.id).collect();
        assert_eq!(beyond.len(), 6, "{beyond:?}");
        assert!(contains(b"abcSECRETdef", b"SECRET"));
        assert!(!contains(b"abc", b"abcd"));
    }
}
