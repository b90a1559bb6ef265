//! A step 06 server at work for a check: started on a fresh [`Root`] as the checker
//! runs step 06 programs (`-p P -r ROOT`), asked over raw sockets, and its answers
//! judged against the files, with the failure a student can act on.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::http::{parse_whole, read_framed, Response};
use super::root::Root;
use crate::lab::check::Failure;
use crate::lab::ctx::{deadline, read_until_closed, todo_message, within, Ctx, Server};
use crate::lab::listen;
use crate::lab::report::{quoted, shown};

/// How long the checker waits for the server to read the first part of a request
/// sent in two: a server that reads at all does it at once; one that never reads
/// is judged on its answer afterwards.
const FIRST_PART_READ: Duration = Duration::from_secs(2);

/// The root and the server serving it.
pub struct Site {
    /// The folder served (removed when dropped, after the server).
    pub root: Root,
    /// The program, listening.
    pub server: Server,
}

/// What one request brought back.
pub struct Answer {
    /// The bytes sent, as one text for the report.
    pub sent: String,
    /// Every byte that came back.
    pub raw: Vec<u8>,
    /// The answer taken apart, or what is wrong with it.
    pub response: Result<Response, String>,
}

/// Start the program on a fresh root: `-p P -r ROOT`.
pub fn site(ctx: &Ctx) -> Result<Site, Failure> {
    let root = Root::new()?;
    let [flag, dir] = root.args();
    let server = ctx.server_with(&[&flag, &dir])?;
    Ok(Site { root, server })
}

impl Site {
    /// `METHOD TARGET HTTP/1.0` and no header lines, as `printf … | nc` sends it:
    /// one request, read until the server closes.
    pub fn ask(&self, method: &str, target: &str) -> Result<Answer, Failure> {
        self.ask_raw(format!("{method} {target} HTTP/1.0\r\n\r\n").as_bytes())
    }

    /// `request`, exactly, on a new connection; read until the server closes.
    pub fn ask_raw(&self, request: &[u8]) -> Result<Answer, Failure> {
        let mut stream = self.server.connect()?;
        let sent = self.sent(request);
        // A server that closes before reading it all makes this fail: its answer,
        // if any, is what the check judges.
        let _ = stream.write_all(request);
        let (raw, _) = read_until_closed(&mut stream, deadline());
        let response = parse_whole(&raw);
        Ok(Answer {
            sent,
            raw,
            response,
        })
    }

    /// `request` as a client that keeps the connection open sends it (curl, a
    /// browser): in one write, or in two cut at `cut` bytes, the second sent once the
    /// server has read the first. One answer is read, framed by its head.
    pub fn ask_open(&self, request: &[u8], cut: Option<usize>) -> Result<Answer, Failure> {
        let mut stream = self.server.connect()?;
        let _ = stream.set_nodelay(true);
        let mut sent = self.sent(request);
        match cut.filter(|&c| c < request.len()) {
            None => {
                let _ = stream.write_all(request);
            }
            Some(cut) => {
                let _ = stream.write_all(&request[..cut]);
                self.wait_first_part_read(&stream);
                let _ = stream.write_all(&request[cut..]);
                sent = format!(
                    "{} then {} to {}",
                    shown(&request[..cut]),
                    shown(&request[cut..]),
                    self.server.address()
                );
            }
        }
        let framed = read_framed(&mut stream, request.starts_with(b"HEAD "), deadline());
        Ok(Answer {
            sent,
            raw: framed.raw,
            response: framed.response,
        })
    }

    /// Until the server's end of the connection holds no unread byte (it has
    /// called recv), or the connection is gone, or [`FIRST_PART_READ`] passed.
    fn wait_first_part_read(&self, stream: &TcpStream) {
        let Ok(me) = stream.local_addr() else { return };
        let port = self.server.address().port();
        let until = Instant::now() + FIRST_PART_READ;
        within(until, || listen::unread(port, me).is_none_or(|n| n == 0));
    }

    fn sent(&self, request: &[u8]) -> String {
        format!("{} to {}", shown(request), self.server.address())
    }

    /// The server's stderr so far (a Rust `todo!()` panics there).
    pub fn stderr(&self) -> Vec<u8> {
        self.server.run.stderr()
    }

    /// The address curl is given: `http://127.0.0.1:P`.
    pub fn url(&self, target: &str) -> String {
        let at: SocketAddr = self.server.address();
        format!("http://{at}{target}")
    }
}

/// The answer as a report shows it: its head as text, its body shown escaped
/// with its length; or what is wrong with it, and the bytes.
pub fn got(answer: &Answer) -> String {
    match &answer.response {
        Ok(r) => {
            let head_len = answer.raw.len().saturating_sub(r.body.len());
            let head = answer.raw.get(..head_len).unwrap_or(&answer.raw);
            format!("head {}\nbody {}", quoted(head), shown(&r.body))
        }
        Err(e) if answer.raw.is_empty() => e.clone(),
        Err(e) => format!("{e}\nbytes {}", shown(&answer.raw)),
    }
}

/// The hint for a server that answered nothing: a Rust `todo!()` still in place
/// (its message and slide), else the two halves of the child's work.
pub fn no_answer(site: &Site, answer: &Answer, expected: &str) -> Failure {
    let stderr = String::from_utf8_lossy(&site.stderr()).into_owned();
    if let Some((message, slide)) = todo_message(&stderr) {
        return Failure::new(
            answer.sent.clone(),
            expected,
            got(answer),
            format!(
                "a todo!() is still in the code ({message}): replace it with what the slide shows"
            ),
        )
        .on_slide(slide.unwrap_or(52));
    }
    Failure::new(
        answer.sent.clone(),
        expected,
        got(answer),
        "the connection closed without an answer: the child reads the request (recv until the empty line, slide 51), then sends the status line, the header lines, an empty line and the file",
    )
}

/// The answer must be `200` with `body` exactly: the judgement shared by every
/// check that fetches a file. `name` is the file as a student knows it.
pub fn expect_file(
    site: &Site,
    answer: &Answer,
    name: &str,
    body: &[u8],
) -> Result<Response, Failure> {
    let expected = format!("200 OK, then {name} ({} bytes) as the body", body.len());
    let response = match &answer.response {
        Ok(r) => r,
        Err(_) if answer.raw.is_empty() => return Err(no_answer(site, answer, &expected)),
        Err(_) => {
            return Err(Failure::new(
                answer.sent.clone(),
                expected,
                got(answer),
                "an answer is a status line (HTTP/1.0 200 OK), header lines, an empty line, then the file; every line of the head ends in \"\\r\\n\"",
            ))
        }
    };
    if response.status != 200 {
        return Err(Failure::new(
            answer.sent.clone(),
            expected,
            got(answer),
            status_hint(response.status, name),
        ));
    }
    if response.body != body {
        return Err(Failure::new(
            answer.sent.clone(),
            expected,
            got(answer),
            body_hint(&response.body, body),
        ));
    }
    Ok(response.clone())
}

/// Why a file that is there got another status than 200, in the likely words.
fn status_hint(status: u16, name: &str) -> String {
    match status {
        404 => format!("{name} is in the root, yet the answer is 404: the path is the root given with -r, then the target as it came (root + \"/{name}\"), opened read-only"),
        400 => "the request was taken for malformed: the request line is three words, METHOD TARGET VERSION, separated by spaces".into(),
        405 | 501 => "GET (and HEAD) are served: compare the method with \"GET\" and \"HEAD\"".into(),
        _ => format!("a file that is there is answered \"200 OK\", not {status}"),
    }
}

/// Why the body is not the file: cut at a NUL byte, cut short, too long, or other.
pub fn body_hint(got: &[u8], file: &[u8]) -> String {
    if got.is_empty() {
        return "the head came, the file did not: after the head, read the file and send what each read returns, until read returns 0".into();
    }
    if file.starts_with(got) {
        if file.get(got.len()) == Some(&0) {
            return format!("the body stops at the file's first NUL byte (offset {}): strlen or printf(\"%s\") treats the file as a C string; send the n bytes that read returned", got.len());
        }
        return format!("the body stops after {} of the file's {} bytes: read and send until read returns 0 (a file larger than the buffer takes several reads), and send every byte of each (sendall)", got.len(), file.len());
    }
    if got.starts_with(file) {
        return format!("after the file came {} bytes more: send exactly the n bytes each read returned, not the whole buffer, and nothing after the file", got.len() - file.len());
    }
    "the body is not the file: one empty line ends the head, then the file's bytes follow, exactly"
        .into()
}
