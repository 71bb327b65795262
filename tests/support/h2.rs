//! Just enough HTTP/2 for a gRPC-shaped call through the real Synapse:
//! a client that sends one POST (HEADERS with END_STREAM) on stream 1 and
//! reads the DATA of the answer, and a cleartext backend (prior knowledge,
//! as a gRPC server is) that answers every stream with its own name. The
//! backend closes any connection that does not open with the HTTP/2
//! preface, as an HTTP/2-only gRPC server does: Synapse then speaks
//! HTTP/2 to it. Header blocks are written with HPACK literals (no
//! Huffman, no dynamic table); the answer's headers are never decoded.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const ACK: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// One frame: type, flags, stream, payload.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads one frame.
pub fn read_frame(r: &mut impl Read) -> io::Result<(u8, u8, u32, Vec<u8>)> {
    let mut head = [0u8; 9];
    r.read_exact(&mut head)?;
    let len = (usize::from(head[0]) << 16) | (usize::from(head[1]) << 8) | usize::from(head[2]);
    let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok((head[3], head[4], stream, payload))
}

/// An HPACK integer of `prefix` bits, its first byte or'ed with `first`.
fn integer(out: &mut Vec<u8>, first: u8, prefix: u8, mut n: usize) {
    let max = (1usize << prefix) - 1;
    if n < max {
        out.push(first | n as u8);
        return;
    }
    out.push(first | max as u8);
    n -= max;
    while n >= 128 {
        out.push((n % 128) as u8 | 0x80);
        n /= 128;
    }
    out.push(n as u8);
}

fn string(out: &mut Vec<u8>, s: &str) {
    integer(out, 0, 7, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// A literal header field without indexing, its name by static index.
fn indexed_name(out: &mut Vec<u8>, index: usize, value: &str) {
    integer(out, 0, 4, index);
    string(out, value);
}

/// The header block of a gRPC call of `path` on `authority`.
pub fn grpc_request_headers(authority: &str, path: &str) -> Vec<u8> {
    let mut b = vec![0x83, 0x87]; // :method POST, :scheme https
    indexed_name(&mut b, 4, path); // :path
    indexed_name(&mut b, 1, authority); // :authority
    indexed_name(&mut b, 31, "application/grpc"); // content-type
    b.push(0x00); // te: trailers, a new name
    string(&mut b, "te");
    string(&mut b, "trailers");
    b
}

/// Sends one gRPC-shaped call on `io` (already speaking HTTP/2) and
/// returns the DATA of its answer.
pub fn call(io: &mut (impl Read + Write), authority: &str, path: &str) -> io::Result<Vec<u8>> {
    io.write_all(PREFACE)?;
    io.write_all(&frame(SETTINGS, 0, 0, &[]))?;
    let headers = grpc_request_headers(authority, path);
    io.write_all(&frame(HEADERS, END_HEADERS | END_STREAM, 1, &headers))?;
    io.flush()?;
    let mut body = Vec::new();
    loop {
        let (kind, flags, stream, payload) = read_frame(io)?;
        match kind {
            SETTINGS if flags & ACK == 0 => io.write_all(&frame(SETTINGS, ACK, 0, &[]))?,
            PING if flags & ACK == 0 => io.write_all(&frame(PING, ACK, 0, &payload))?,
            GOAWAY => return Err(io::Error::other("GOAWAY")),
            RST_STREAM if stream == 1 => return Err(io::Error::other("stream reset")),
            DATA if stream == 1 => {
                body.extend_from_slice(&payload);
                if flags & END_STREAM != 0 {
                    return Ok(body);
                }
            }
            HEADERS if stream == 1 && flags & END_STREAM != 0 => return Ok(body),
            _ => {}
        }
        io.flush()?;
    }
}

/// An HTTP/2-only backend on loopback answering every stream with `name`.
pub fn backend(name: &str) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an h2 backend");
    let port = listener.local_addr().expect("addr").port();
    let name = name.to_string();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let name = name.clone();
            std::thread::spawn(move || {
                let _ = serve(conn, &name);
            });
        }
    });
    port
}

fn serve(mut conn: TcpStream, name: &str) -> io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut preface = [0u8; 24];
    conn.read_exact(&mut preface)?;
    if preface != PREFACE {
        // HTTP/1.1 (or a TLS probe): not spoken here.
        return Ok(());
    }
    conn.write_all(&frame(SETTINGS, 0, 0, &[]))?;
    loop {
        let (kind, flags, stream, payload) = read_frame(&mut conn)?;
        let ends = flags & END_STREAM != 0;
        match kind {
            SETTINGS if flags & ACK == 0 => conn.write_all(&frame(SETTINGS, ACK, 0, &[]))?,
            PING if flags & ACK == 0 => conn.write_all(&frame(PING, ACK, 0, &payload))?,
            GOAWAY => return Ok(()),
            HEADERS | DATA if ends && stream != 0 => {
                // :status 200 (static index 8), then the name as the body.
                conn.write_all(&frame(HEADERS, END_HEADERS, stream, &[0x88]))?;
                conn.write_all(&frame(DATA, END_STREAM, stream, name.as_bytes()))?;
            }
            _ => {}
        }
        conn.flush()?;
    }
}
