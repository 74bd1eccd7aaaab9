//! Server-sent events, decoded from bytes as they arrive (any split, `\n` or
//! `\r\n`): each event's name and data, comments and ids ignored.

use super::body::{ProviderError, MAX_BODY_BYTES};

/// One event: its `event:` name, if any, and its data lines joined with `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SseEvent {
    pub name: Option<String>,
    pub data: String,
}

#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    /// Bytes of a line not yet ended.
    line: Vec<u8>,
    name: Option<String>,
    data: Option<String>,
}

impl SseDecoder {
    /// Decodes `bytes`, appending finished events to `out`.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), ProviderError> {
        while let Some(end) = bytes.iter().position(|&b| b == b'\n') {
            let (head, rest) = (&bytes[..end], &bytes[end + 1..]);
            bytes = rest;
            if self.line.is_empty() {
                // The whole line is in this push: read in place, not copied.
                self.line_done(&String::from_utf8_lossy(strip_cr(head)), out);
            } else {
                self.keep(head)?;
                // Taken out and put back, emptied: its capacity serves the next line.
                let mut line = std::mem::take(&mut self.line);
                self.line_done(&String::from_utf8_lossy(strip_cr(&line)), out);
                line.clear();
                self.line = line;
            }
        }
        self.keep(bytes)
    }

    /// Keeps the start of a line not yet ended, within the limit.
    fn keep(&mut self, part: &[u8]) -> Result<(), ProviderError> {
        let bytes = self.line.len() + part.len();
        if bytes > MAX_BODY_BYTES {
            return Err(ProviderError::TooLarge { bytes });
        }
        self.line.extend_from_slice(part);
        Ok(())
    }

    /// Ends the stream: a last event not followed by a blank line still counts.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.line_done(&String::from_utf8_lossy(&line), out);
        }
        self.line_done("", out);
    }

    fn line_done(&mut self, line: &str, out: &mut Vec<SseEvent>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                out.push(SseEvent { name: self.name.take(), data });
            }
            self.name = None;
            return;
        }
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "data" => {
                let data = self.data.get_or_insert_with(String::new);
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(value);
            }
            "event" => self.name = Some(value.to_owned()),
            _ => {}
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_decode_across_any_split() {
        let text = b": comment\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\ndata: x\ndata: y\n\ndata: [DONE]";
        for split in 1..text.len() {
            let (mut d, mut out) = (SseDecoder::default(), Vec::new());
            d.push(&text[..split], &mut out).unwrap();
            d.push(&text[split..], &mut out).unwrap();
            d.finish(&mut out);
            assert_eq!(
                out,
                vec![
                    SseEvent { name: Some("message_start".into()), data: "{\"a\":1}".into() },
                    SseEvent { name: None, data: "x\ny".into() },
                    SseEvent { name: None, data: "[DONE]".into() },
                ],
                "split at {split}"
            );
        }
    }
}
