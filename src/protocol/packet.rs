//! Packet framing over a byte stream.
//!
//! Logical packets (joined across 16 MiB chunks, sequence ids checked) go through
//! `mysql_common`'s `PacketCodec`. The read buffer is also exposed raw, so the relay can forward a
//! backend's response as the very bytes it received, without decoding and re-encoding it.

use std::io;

use bytes::{Buf, BytesMut};
use mysql_common::proto::codec::error::PacketCodecError;
use mysql_common::proto::codec::PacketCodec;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Initial read buffer: small, so a thousand idle connections stay cheap.
const INITIAL_BUF: usize = 4 * 1024;
/// Read-ahead once data flows: big enough for most result sets in one read.
const BUF_SIZE: usize = 64 * 1024;

/// One side of a MySQL connection: a stream, its read buffer and the sequence-id state.
pub struct PacketStream<S> {
    pub stream: S,
    /// Bytes read from the stream and not consumed yet.
    pub rbuf: BytesMut,
    wbuf: BytesMut,
    codec: PacketCodec,
}

/// Why a packet could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The peer closed the connection cleanly between packets.
    Closed,
    /// The peer announced a packet larger than the configured limit; nothing was allocated for it.
    TooLarge,
    /// Sequence ids out of order: the peer does not speak the protocol.
    OutOfSync,
    Io(io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Closed => f.write_str("connection closed"),
            ReadError::TooLarge => f.write_str("packet larger than max_packet_size"),
            ReadError::OutOfSync => f.write_str("packet sequence out of order"),
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> PacketStream<S> {
    pub fn new(stream: S, max_packet: usize) -> Self {
        let mut codec = PacketCodec::default();
        codec.max_allowed_packet = max_packet;
        PacketStream {
            stream,
            rbuf: BytesMut::with_capacity(INITIAL_BUF),
            wbuf: BytesMut::new(),
            codec,
        }
    }

    /// The largest payload accepted from the peer from now on.
    pub fn set_max_packet(&mut self, max_packet: usize) {
        self.codec.max_allowed_packet = max_packet;
    }

    /// Starts a new command exchange: the next packet carries sequence id 0.
    pub fn reset_seq(&mut self) {
        self.codec.reset_seq_id();
    }

    /// Reads one logical packet into `out` (cleared first).
    pub async fn read_packet(&mut self, out: &mut Vec<u8>) -> Result<(), ReadError> {
        out.clear();
        loop {
            match self.codec.decode(&mut self.rbuf, out) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(PacketCodecError::PacketTooLarge) => return Err(ReadError::TooLarge),
                Err(PacketCodecError::PacketsOutOfSync) => return Err(ReadError::OutOfSync),
                Err(PacketCodecError::Io(e)) => return Err(ReadError::Io(e)),
                Err(e) => return Err(ReadError::Io(io::Error::other(e.to_string()))),
            }
            self.fill().await?;
        }
    }

    /// Reads more bytes from the stream into the read buffer.
    pub async fn fill(&mut self) -> Result<usize, ReadError> {
        if self.rbuf.capacity() - self.rbuf.len() < 4096 {
            self.rbuf.reserve(BUF_SIZE);
        }
        let n = self.stream.read_buf(&mut self.rbuf).await?;
        if n == 0 {
            return Err(if self.rbuf.is_empty() {
                ReadError::Closed
            } else {
                ReadError::Io(io::ErrorKind::UnexpectedEof.into())
            });
        }
        Ok(n)
    }

    /// Queues one logical packet (split into chunks as needed) with the next sequence id.
    pub fn queue_packet(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut src = payload;
        self.codec
            .encode(&mut src, &mut self.wbuf)
            .map_err(|e| io::Error::other(e.to_string()))
    }

    /// Queues bytes that are already framed (relayed packets).
    pub fn queue_raw(&mut self, framed: &[u8]) {
        self.wbuf.extend_from_slice(framed);
    }

    /// Writes everything queued. The stream is flushed too: a TLS stream may hold encrypted
    /// bytes back until then (a plain socket's flush does nothing).
    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf).await?;
            self.wbuf.clear();
            self.stream.flush().await?;
        }
        Ok(())
    }

    /// Writes bytes that are already framed (a relayed response) after anything queued.
    pub async fn write_raw(&mut self, framed: &[u8]) -> io::Result<()> {
        self.flush().await?;
        self.stream.write_all(framed).await?;
        self.stream.flush().await
    }

    /// Reads one logical packet without reading ahead of it: what follows stays in the socket.
    /// Used for a client's first packet, which may be a TLS request followed at once by the
    /// TLS handshake's own bytes; those must reach the TLS layer, not this buffer.
    pub async fn read_packet_exact(&mut self, out: &mut Vec<u8>) -> Result<(), ReadError> {
        out.clear();
        loop {
            let mut header = [0u8; 4];
            read_exact(&mut self.stream, &mut header, self.rbuf.is_empty()).await?;
            let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
            if len > self.codec.max_allowed_packet {
                return Err(ReadError::TooLarge);
            }
            self.rbuf.extend_from_slice(&header);
            // Grow with what arrives, not with what the header announces.
            let mut left = len;
            while left > 0 {
                let start = self.rbuf.len();
                let step = left.min(64 * 1024);
                self.rbuf.resize(start + step, 0);
                read_exact(&mut self.stream, &mut self.rbuf[start..], false).await?;
                left -= step;
            }
            match self.codec.decode(&mut self.rbuf, out) {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(PacketCodecError::PacketTooLarge) => return Err(ReadError::TooLarge),
                Err(PacketCodecError::PacketsOutOfSync) => return Err(ReadError::OutOfSync),
                Err(e) => return Err(ReadError::Io(io::Error::other(e.to_string()))),
            }
        }
    }

    /// Queues and writes one packet.
    pub async fn write_packet(&mut self, payload: &[u8]) -> io::Result<()> {
        self.queue_packet(payload)?;
        self.flush().await
    }

    /// Reads one physical packet raw: returns its total framed length (header included) once it
    /// is entirely in `rbuf`. Used where packets are forwarded as they are.
    pub async fn read_raw_packet(&mut self) -> Result<usize, ReadError> {
        loop {
            if self.rbuf.len() >= 4 {
                let len =
                    u32::from_le_bytes([self.rbuf[0], self.rbuf[1], self.rbuf[2], 0]) as usize;
                if len > self.codec.max_allowed_packet {
                    return Err(ReadError::TooLarge);
                }
                if self.rbuf.len() >= 4 + len {
                    return Ok(4 + len);
                }
                self.rbuf.reserve(4 + len - self.rbuf.len());
            }
            self.fill().await?;
        }
    }

    /// Answers a packet that [`PacketStream::read_packet`] refused as too large with `payload`
    /// (an ERR 1153), numbered as the server numbers it: one past the sequence id of the
    /// chunk that took the packet over the limit (the read buffer still starts with that
    /// chunk's header). A client that checks sequence ids (PyMySQL) reads it as the error it
    /// is, not as "packet sequence number wrong".
    ///
    /// The rest of the refused packet is then read and dropped (at most [`DRAIN_LIMIT`] bytes,
    /// for at most [`DRAIN_TIME`]) before the caller closes: closing a socket with unread bytes
    /// makes the kernel reset the connection, and the client would see "lost connection"
    /// (2013/2055) instead of the answer.
    pub async fn answer_too_large(&mut self, payload: &[u8]) -> io::Result<()> {
        let seq = self.rbuf.get(3).map_or(1, |s| s.wrapping_add(1));
        let mut framed = BytesMut::new();
        frame(seq, payload, &mut framed);
        self.write_raw(&framed).await?;
        let _ = tokio::time::timeout(DRAIN_TIME, self.drain_packet()).await;
        Ok(())
    }

    /// Reads and drops the chunks of the packet whose header starts the read buffer.
    async fn drain_packet(&mut self) -> Result<(), ReadError> {
        let mut drained = 0usize;
        loop {
            while self.rbuf.len() < 4 {
                self.fill().await?;
            }
            let len = u32::from_le_bytes([self.rbuf[0], self.rbuf[1], self.rbuf[2], 0]) as usize;
            let mut left = 4 + len;
            while left > 0 {
                if self.rbuf.is_empty() {
                    self.fill().await?;
                }
                let n = left.min(self.rbuf.len());
                self.rbuf.advance(n);
                left -= n;
            }
            drained += 4 + len;
            if len < super::MAX_CHUNK || drained > DRAIN_LIMIT {
                return Ok(());
            }
        }
    }

    /// Drops `n` consumed bytes from the front of the read buffer.
    pub fn consume(&mut self, n: usize) {
        self.rbuf.advance(n);
    }
}

/// How much of a refused oversized packet is read and dropped before the connection closes.
const DRAIN_LIMIT: usize = 1 << 30;
/// How long that may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// `read_exact` that reports a clean close before the first byte as `Closed`.
async fn read_exact<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
    at_boundary: bool,
) -> Result<(), ReadError> {
    let mut got = 0;
    while got < buf.len() {
        let n = stream.read(&mut buf[got..]).await?;
        if n == 0 {
            return Err(if got == 0 && at_boundary {
                ReadError::Closed
            } else {
                ReadError::Io(io::ErrorKind::UnexpectedEof.into())
            });
        }
        got += n;
    }
    Ok(())
}

/// Frames `payload` starting at sequence id `seq` into `dst`; returns the next sequence id.
pub fn frame(seq: u8, payload: &[u8], dst: &mut BytesMut) -> u8 {
    let mut src = payload;
    mysql_common::proto::codec::packet_to_chunks(seq, &mut src, dst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_split_packets_and_rejects_oversize() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let mut writer = PacketStream::new(a, 64 << 20);
        let mut reader = PacketStream::new(b, 64 << 20);
        let big = vec![7u8; super::super::MAX_CHUNK + 10];
        let w = tokio::spawn(async move {
            writer.write_packet(&big).await.unwrap();
            writer.write_packet(b"\x03SELECT 1").await.unwrap();
            writer
        });
        let mut out = Vec::new();
        reader.read_packet(&mut out).await.unwrap();
        assert_eq!(out.len(), super::super::MAX_CHUNK + 10);
        reader.read_packet(&mut out).await.unwrap();
        assert_eq!(out, b"\x03SELECT 1");
        drop(w.await.unwrap());

        let (a, b) = tokio::io::duplex(1024);
        let mut small = PacketStream::new(b, 100);
        let mut raw = PacketStream::new(a, 1 << 20);
        // announces 1000 bytes, sends only the header: must fail without waiting for the body
        raw.queue_raw(&[0xE8, 0x03, 0x00, 0x00]);
        raw.flush().await.unwrap();
        assert!(matches!(
            small.read_packet(&mut out).await,
            Err(ReadError::TooLarge)
        ));
    }

    /// A packet of three chunks (seq 0, 1, 2) over a limit the second chunk crosses: the
    /// answer is numbered 2, one past that chunk, as the server numbers it.
    #[tokio::test]
    async fn too_large_answer_follows_the_chunk_that_crossed_the_limit() {
        let chunk = super::super::MAX_CHUNK;
        let (a, b) = tokio::io::duplex(64 << 20);
        let mut writer = PacketStream::new(a, 64 << 20);
        let mut reader = PacketStream::new(b, chunk + 100);
        let big = vec![7u8; 2 * chunk + 10];
        let w = tokio::spawn(async move {
            writer.write_packet(&big).await.unwrap();
            writer
        });
        let mut out = Vec::new();
        assert!(matches!(
            reader.read_packet(&mut out).await,
            Err(ReadError::TooLarge)
        ));
        reader.answer_too_large(b"\xff").await.unwrap();
        let mut writer = w.await.unwrap();
        let mut header = [0u8; 4];
        writer.stream.read_exact(&mut header).await.unwrap();
        assert_eq!(header, [1, 0, 0, 2]);
    }
}
