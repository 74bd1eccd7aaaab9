//! Gzip for request bodies (`Content-Encoding: gzip`, OTLP's one defined
//! compression). One compressor per exporter, reset between requests, so neither its
//! state (hundreds of KB) nor its output buffer is allocated per request.

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// Level 1, the cheapest: compression runs on the sending thread, and higher levels
/// cost far more CPU for few bytes fewer (`benches/RESULTS.md`, "Gzip level").
const LEVEL: u32 = 1;

/// RFC 1952 header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

pub(crate) struct Gzip {
    /// Raw deflate (no zlib header); the gzip framing is written here.
    deflate: Compress,
    out: Vec<u8>,
}

impl std::fmt::Debug for Gzip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gzip").field("level", &LEVEL).finish()
    }
}

impl Gzip {
    pub fn new() -> Self {
        Gzip { deflate: Compress::new(Compression::new(LEVEL), false), out: Vec::new() }
    }

    /// `body` as one gzip member. The result borrows a buffer reused by the next call.
    pub fn compress(&mut self, body: &[u8]) -> &[u8] {
        self.deflate.reset();
        self.out.clear();
        // zlib's compressBound plus the framing: deflate never needs more, so the
        // loop below normally runs once.
        self.out.reserve(body.len() + (body.len() >> 12) + (body.len() >> 14) + 64);
        self.out.extend_from_slice(&HEADER);
        loop {
            let consumed = self.deflate.total_in() as usize;
            match self.deflate.compress_vec(&body[consumed..], &mut self.out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => break,
                // Out of room (or a buffer error, which also only means that): grow.
                Ok(_) | Err(_) => self.out.reserve(self.out.capacity().max(4096)),
            }
        }
        let mut crc = Crc::new();
        crc.update(body);
        self.out.extend_from_slice(&crc.sum().to_le_bytes());
        // ISIZE is the input length modulo 2^32 by definition.
        self.out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        &self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn gunzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn round_trips_and_is_reusable() {
        let mut g = Gzip::new();
        let text: Vec<u8> = (0..200_000u32).flat_map(|i| format!("span {i} prompt text, ").into_bytes()).collect();
        // Incompressible bytes too: the output is then larger than the input.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for body in [&text[..], &b""[..], &noise[..], &b"{}"[..], &text[..1000]] {
            let z = g.compress(body).to_vec();
            assert_eq!(&z[..2], &[0x1f, 0x8b]);
            assert_eq!(gunzip(&z), body);
        }
        assert!(g.compress(&text).len() < text.len() / 4);
    }
}
