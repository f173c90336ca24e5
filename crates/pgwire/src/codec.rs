//! PostgreSQL v3 message framing.
//!
//! Reading is bounded: every length is checked against `message_bytes_max`
//! before a buffer is allocated, so a hostile length cannot exhaust memory.

use bytes::{Buf, BufMut, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::PgError;

pub const PROTOCOL_VERSION_3: i32 = 196_608;
pub const SSL_REQUEST_CODE: i32 = 80_877_103;
pub const GSSENC_REQUEST_CODE: i32 = 80_877_104;
pub const CANCEL_REQUEST_CODE: i32 = 80_877_102;

/// A startup-phase packet (no type byte).
#[derive(Debug)]
pub enum StartupPacket {
    Startup { parameters: Vec<(String, String)> },
    SslRequest,
    GssEncRequest,
    Cancel { process_id: i32, secret_key: i32 },
    UnsupportedVersion(i32),
}

/// Reads one startup packet. The bound for startup packets is fixed and small.
pub async fn read_startup<R: AsyncRead + Unpin>(reader: &mut R) -> Result<StartupPacket, PgError> {
    const STARTUP_BYTES_MAX: usize = 10_000;
    let len = reader.read_i32().await.map_err(PgError::io)?;
    if len < 8 || len as usize > STARTUP_BYTES_MAX {
        return Err(PgError::protocol(format!(
            "invalid startup packet length {len}"
        )));
    }
    let mut body = vec![0u8; len as usize - 4];
    reader.read_exact(&mut body).await.map_err(PgError::io)?;
    let mut buf = &body[..];
    let code = buf.get_i32();
    match code {
        SSL_REQUEST_CODE => Ok(StartupPacket::SslRequest),
        GSSENC_REQUEST_CODE => Ok(StartupPacket::GssEncRequest),
        CANCEL_REQUEST_CODE => {
            if buf.remaining() < 8 {
                return Err(PgError::protocol("invalid cancel request length"));
            }
            Ok(StartupPacket::Cancel {
                process_id: buf.get_i32(),
                secret_key: buf.get_i32(),
            })
        }
        PROTOCOL_VERSION_3 => {
            let mut parameters = Vec::new();
            loop {
                let key = read_cstr(&mut buf)?;
                if key.is_empty() {
                    break;
                }
                let value = read_cstr(&mut buf)?;
                parameters.push((key, value));
            }
            Ok(StartupPacket::Startup { parameters })
        }
        other => Ok(StartupPacket::UnsupportedVersion(other)),
    }
}

/// One frontend message after startup: its type byte and body.
#[derive(Debug)]
pub struct FrontendMessage {
    pub tag: u8,
    pub body: BytesMut,
}

/// Reads one typed message, refusing bodies larger than `message_bytes_max`.
/// Returns `Ok(None)` on a clean end of stream.
pub async fn read_message<R: AsyncRead + Unpin>(
    reader: &mut R,
    message_bytes_max: usize,
) -> Result<Option<FrontendMessage>, PgError> {
    let tag = match reader.read_u8().await {
        Ok(tag) => tag,
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(PgError::io(e)),
    };
    let len = reader.read_i32().await.map_err(PgError::io)?;
    if len < 4 {
        return Err(PgError::protocol(format!("invalid message length {len}")));
    }
    let body_len = len as usize - 4;
    if body_len > message_bytes_max {
        return Err(PgError::new(
            "54000",
            format!("message of {body_len} bytes exceeds the limit of {message_bytes_max} bytes"),
        ));
    }
    let mut body = BytesMut::zeroed(body_len);
    reader.read_exact(&mut body).await.map_err(PgError::io)?;
    Ok(Some(FrontendMessage { tag, body }))
}

pub fn read_cstr(buf: &mut &[u8]) -> Result<String, PgError> {
    let end = buf
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| PgError::protocol("missing string terminator"))?;
    let s = std::str::from_utf8(&buf[..end])
        .map_err(|_| PgError::new("22021", "invalid byte sequence for encoding \"UTF8\""))?
        .to_string();
    buf.advance(end + 1);
    Ok(s)
}

/// Checked reads over a message body; a short body is a protocol violation.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    fn need(&self, n: usize) -> Result<(), PgError> {
        if self.buf.len() < n {
            Err(PgError::protocol("message is shorter than its contents"))
        } else {
            Ok(())
        }
    }

    pub fn u8(&mut self) -> Result<u8, PgError> {
        self.need(1)?;
        Ok(self.buf.get_u8())
    }

    pub fn i16(&mut self) -> Result<i16, PgError> {
        self.need(2)?;
        Ok(self.buf.get_i16())
    }

    pub fn i32(&mut self) -> Result<i32, PgError> {
        self.need(4)?;
        Ok(self.buf.get_i32())
    }

    pub fn u32(&mut self) -> Result<u32, PgError> {
        self.need(4)?;
        Ok(self.buf.get_u32())
    }

    pub fn cstr(&mut self) -> Result<String, PgError> {
        read_cstr(&mut self.buf)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], PgError> {
        self.need(n)?;
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// A non-negative count, bounded by what the remaining body could hold.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, PgError> {
        let n = self.i16()?;
        if n < 0 || (n as usize) * min_item_bytes > self.buf.len() {
            return Err(PgError::protocol("invalid item count"));
        }
        Ok(n as usize)
    }

    pub fn remaining(&self) -> &'a [u8] {
        self.buf
    }
}

/// Builds backend messages into an output buffer.
#[derive(Default)]
pub struct Writer {
    pub buf: BytesMut,
}

impl Writer {
    /// Starts a message; the returned guard patches the length when dropped.
    pub fn message(&mut self, tag: u8) -> MessageGuard<'_> {
        self.buf.put_u8(tag);
        let len_at = self.buf.len();
        self.buf.put_i32(0);
        MessageGuard {
            writer: self,
            len_at,
        }
    }

    pub fn take(&mut self) -> BytesMut {
        self.buf.split()
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

pub struct MessageGuard<'a> {
    writer: &'a mut Writer,
    len_at: usize,
}

impl MessageGuard<'_> {
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.writer.buf.put_u8(v);
        self
    }
    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.writer.buf.put_i16(v);
        self
    }
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.writer.buf.put_i32(v);
        self
    }
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.writer.buf.put_u32(v);
        self
    }
    pub fn cstr(&mut self, s: &str) -> &mut Self {
        self.writer.buf.put_slice(s.as_bytes());
        self.writer.buf.put_u8(0);
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.writer.buf.put_slice(b);
        self
    }
}

impl Drop for MessageGuard<'_> {
    fn drop(&mut self) {
        let len = (self.writer.buf.len() - self.len_at) as i32;
        self.writer.buf[self.len_at..self.len_at + 4].copy_from_slice(&len.to_be_bytes());
    }
}
