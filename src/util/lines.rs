//! Lines of a JSON lines file read with a bound: a line longer than the bound is
//! passed over, never held whole (the spool's reader, the capture reader).

use std::io::{self, BufRead, Read};

/// One line as read.
pub(crate) enum BoundedLine {
    /// The end of the file.
    End,
    /// A line (with its newline, if it had one).
    Line(Vec<u8>),
    /// A line longer than the bound, read past.
    TooLong,
}

/// Reads the next line of at most `max` bytes; the line and the bytes consumed.
///
/// # Errors
/// What reading the file gave.
pub(crate) fn read_bounded_line(reader: &mut impl BufRead, max: u64) -> io::Result<(BoundedLine, u64)> {
    let mut bytes = Vec::new();
    let n = reader.take(max.saturating_add(1)).read_until(b'\n', &mut bytes)? as u64;
    if n == 0 {
        return Ok((BoundedLine::End, 0));
    }
    if bytes.last() != Some(&b'\n') && n > max {
        return Ok((BoundedLine::TooLong, n + skip_line(reader)?));
    }
    Ok((BoundedLine::Line(bytes), n))
}

/// The line without its trailing whitespace (the newline, a `\r`).
pub(crate) fn trim_line(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
    &bytes[..end]
}

/// Reads past the rest of a line; the bytes passed.
fn skip_line(reader: &mut impl BufRead) -> io::Result<u64> {
    let mut passed = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(passed);
        }
        let (n, done) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), false),
        };
        reader.consume(n);
        passed += n as u64;
        if done {
            return Ok(passed);
        }
    }
}
