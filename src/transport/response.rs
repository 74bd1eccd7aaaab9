//! Reading one HTTP/1.1 response from a connection (the plain-TCP sender's, see
//! `plain.rs`): the head parsed by httparse, the body framed as RFC 9112 says
//! (no body for 1xx/204/304, chunked, Content-Length, or up to the close), every
//! read bounded by the request's deadline, the body kept up to a cap.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::Instant;

/// What came back, and whether the connection can carry another request.
#[derive(Debug)]
pub(super) struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
    /// The response ended where its framing said, the server did not ask to close,
    /// and nothing follows it: the connection may go back to the pool.
    pub reusable: bool,
}

/// Why no answer could be read.
#[derive(Debug)]
pub(super) enum Failure {
    /// The deadline passed.
    TimedOut,
    /// The connection closed or failed; `answered` says whether any byte of a
    /// response had arrived (a pooled connection closed by the server fails
    /// before any).
    Io { error: io::Error, answered: bool },
    /// Bytes that are not an HTTP/1.1 response.
    Malformed(String),
}

/// The longest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// The longest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4 * 1024;
/// Headers parsed per response; OTLP answers have a handful.
const MAX_HEADERS: usize = 64;

/// The connection's bytes read so far, and where the unread ones start.
struct Incoming<'a> {
    conn: &'a mut TcpStream,
    deadline: Instant,
    buf: Vec<u8>,
    pos: usize,
    /// Whether the reads so far brought any byte.
    answered: bool,
}

impl Incoming<'_> {
    /// Reads more into the buffer; `Ok(false)` at the end of the stream.
    fn fill(&mut self) -> Result<bool, Failure> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Failure::TimedOut);
        }
        let answered = self.answered;
        self.conn.set_read_timeout(Some(left)).map_err(|error| Failure::Io { error, answered })?;
        if self.pos > 0 && self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
        let start = self.buf.len();
        self.buf.resize(start + 16 * 1024, 0);
        let read = loop {
            match self.conn.read(&mut self.buf[start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.buf.truncate(start + *read.as_ref().unwrap_or(&0));
        match read {
            Ok(0) => Ok(false),
            Ok(_) => {
                self.answered = true;
                Ok(true)
            }
            Err(e) if is_timeout(&e) => Err(Failure::TimedOut),
            Err(error) => Err(Failure::Io { error, answered: self.answered }),
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    /// Fills, failing at the end of the stream.
    fn more(&mut self, what: &str) -> Result<(), Failure> {
        if self.fill()? {
            return Ok(());
        }
        let error = io::Error::new(io::ErrorKind::UnexpectedEof, format!("connection closed {what}"));
        Err(Failure::Io { error, answered: self.answered })
    }

    /// One CRLF-terminated line, without its CRLF.
    fn line(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            if let Some(end) = self.unread().windows(2).position(|w| w == b"\r\n") {
                let line = self.unread()[..end].to_vec();
                self.pos += end + 2;
                return Ok(line);
            }
            if self.unread().len() > MAX_LINE {
                return Err(Failure::Malformed("a chunk line longer than 4 KiB".into()));
            }
            self.more("inside a chunked body")?;
        }
    }

    /// Takes `n` bytes, keeping what fits under `cap` in `body`; `Ok(false)` when
    /// the cap cut it short (the rest is left unread).
    fn take(&mut self, mut n: usize, body: &mut Vec<u8>, cap: usize) -> Result<bool, Failure> {
        while n > 0 {
            if self.unread().is_empty() {
                self.more("inside the body")?;
            }
            let step = n.min(self.unread().len());
            let room = cap.saturating_sub(body.len());
            body.extend_from_slice(&self.unread()[..step.min(room)]);
            self.pos += step;
            n -= step;
            if step > room {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Reads one response to a request just written, keeping up to `cap` body bytes.
pub(super) fn read_response(conn: &mut TcpStream, deadline: Instant, cap: usize) -> Result<Answer, Failure> {
    let mut input = Incoming { conn, deadline, buf: Vec::new(), pos: 0, answered: false };
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut head = httparse::Response::new(&mut headers);
        let parsed = head.parse(input.unread()).map_err(|e| Failure::Malformed(format!("bad response head: {e}")))?;
        let httparse::Status::Complete(head_len) = parsed else {
            if input.unread().len() > MAX_HEAD {
                return Err(Failure::Malformed("a response head longer than 64 KiB".into()));
            }
            input.more("before a whole response head")?;
            continue;
        };
        let status = head.code.unwrap_or(0);
        if (100..200).contains(&status) && status != 101 {
            // Interim (100 Continue, 103 Early Hints): the answer follows.
            input.pos += head_len;
            continue;
        }
        let framing = Framing::of(&head, status)?;
        let header = |name: &str| {
            head.headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .map(str::to_owned)
        };
        let (content_type, retry_after) = (header("content-type"), header("retry-after"));
        let keep_alive = head.version == Some(1)
            && !head.headers.iter().any(|h| h.name.eq_ignore_ascii_case("connection") && has_token(h.value, "close"));
        input.pos += head_len;
        let mut body = Vec::new();
        let whole = framing.read_body(&mut input, &mut body, cap)?;
        let reusable = whole && keep_alive && framing != Framing::UntilClose && input.unread().is_empty();
        return Ok(Answer { status, content_type, retry_after, body, reusable });
    }
}

/// How the body's end is known.
#[derive(Debug, PartialEq, Eq)]
enum Framing {
    None,
    Chunked,
    Length(usize),
    UntilClose,
}

impl Framing {
    fn of(head: &httparse::Response<'_, '_>, status: u16) -> Result<Framing, Failure> {
        if status == 101 {
            return Err(Failure::Malformed("the server switched protocols".into()));
        }
        if status == 204 || status == 304 {
            return Ok(Framing::None);
        }
        let values = |name: &'static str| {
            head.headers.iter().filter(move |h| h.name.eq_ignore_ascii_case(name)).map(|h| h.value)
        };
        if let Some(last) = values("transfer-encoding").next_back() {
            let chunked =
                last.rsplit(|b| *b == b',').next().is_some_and(|c| c.trim_ascii().eq_ignore_ascii_case(b"chunked"));
            return Ok(if chunked { Framing::Chunked } else { Framing::UntilClose });
        }
        let mut length = None;
        for v in values("content-length") {
            let n = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .ok_or_else(|| Failure::Malformed("a Content-Length that is not a number".into()))?;
            if length.is_some_and(|l| l != n) {
                return Err(Failure::Malformed("two different Content-Lengths".into()));
            }
            length = Some(n);
        }
        Ok(length.map_or(Framing::UntilClose, Framing::Length))
    }

    /// Reads the body into `body` (up to `cap`); `Ok(false)` when some was left unread.
    fn read_body(&self, input: &mut Incoming<'_>, body: &mut Vec<u8>, cap: usize) -> Result<bool, Failure> {
        match *self {
            Framing::None => Ok(true),
            Framing::Length(n) => input.take(n, body, cap),
            Framing::UntilClose => loop {
                let whole = input.unread().len();
                if !input.take(whole, body, cap)? {
                    return Ok(false);
                }
                if !input.fill()? {
                    return Ok(true);
                }
            },
            Framing::Chunked => loop {
                let line = input.line()?;
                let size = line.split(|b| *b == b';').next().unwrap_or_default();
                let size = std::str::from_utf8(size)
                    .ok()
                    .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                    .ok_or_else(|| Failure::Malformed("a chunk size that is not hexadecimal".into()))?;
                if size == 0 {
                    // Trailers, up to the empty line.
                    while !input.line()?.is_empty() {}
                    return Ok(true);
                }
                if !input.take(size, body, cap)? {
                    return Ok(false);
                }
                if !input.line()?.is_empty() {
                    return Err(Failure::Malformed("a chunk longer than its size".into()));
                }
            },
        }
    }
}

/// Whether a socket operation failed because its timeout passed.
pub(super) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Whether a comma-separated header value lists `token`.
fn has_token(value: &[u8], token: &str) -> bool {
    value.split(|b| *b == b',').any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}
