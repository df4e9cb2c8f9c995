//! One DNS exchange over TCP (RFC 1035 §4.2.2: each message preceded by its 2-byte length).
//!
//! Why TCP and why our own: updates and TXT answers may exceed a UDP datagram, every
//! authoritative server answers TCP (RFC 7766), and reading the raw answer ourselves lets the
//! caller see a refused key's TSIG error before verification (hickory's client multiplexer
//! turns that answer into a failed verification without the server's reason).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::DnsError;

/// Sends `request` to `server` and returns its answer, within `timeout` for the whole exchange.
pub(super) async fn exchange(server: SocketAddr, request: &[u8], timeout: Duration) -> Result<Vec<u8>, DnsError> {
    let unreachable = |reason: String| DnsError::Unreachable { server, reason };
    let length = u16::try_from(request.len()).map_err(|_| DnsError::Invalid(format!("message of {} bytes is too long", request.len())))?;
    let talk = async {
        let mut stream = TcpStream::connect(server).await?;
        let mut framed = Vec::with_capacity(request.len() + 2);
        framed.extend_from_slice(&length.to_be_bytes());
        framed.extend_from_slice(request);
        stream.write_all(&framed).await?;
        let mut length = [0u8; 2];
        stream.read_exact(&mut length).await?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(length))];
        stream.read_exact(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(timeout, talk).await {
        Ok(Ok(answer)) => Ok(answer),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable(format!("no answer within {} ms", timeout.as_millis()))),
    }
}
