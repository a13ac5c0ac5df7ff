//! Sends one file as an HTTP response: conditional requests (strong ETag,
//! If-None-Match, If-Range), byte ranges, HEAD, and a body that is streamed
//! from disk in bounded chunks, never read whole into memory.

use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};

use actix_web::body::SizedStream;
use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use bytes::{Bytes, BytesMut};
use cinemesh_common::ApiError;
use futures_util::stream::{self, Stream};
use prometheus_client::metrics::counter::Counter;

use crate::range::{ByteRange, RangeRequest, parse_range};

/// Bytes read from disk per step. Large enough that a 2 MB segment takes a
/// handful of trips to the blocking pool, small enough that thousands of
/// concurrent downloads stay within a few hundred MiB.
const CHUNK_BYTES: u64 = 256 * 1024;

/// How one class of files is answered: its caching policy and whether bytes
/// sent are counted somewhere.
#[derive(Clone)]
pub struct FileResponder {
    pub cache_control: &'static str,
    pub served_bytes: Option<Counter>,
    /// Extra headers (CORS for media).
    pub extra_headers: &'static [(&'static str, &'static str)],
}

/// Content type by file extension for everything Cinemesh serves.
pub fn content_type_for(extension: &str) -> Option<&'static str> {
    Some(match extension {
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        "m4s" => "video/iso.segment",
        "mp4" => "video/mp4",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "map" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        "vtt" => "text/vtt; charset=utf-8",
        _ => return None,
    })
}

struct OpenedFile {
    file: File,
    size: u64,
    etag: String,
}

impl FileResponder {
    /// Answers `req` with an opened regular file.
    pub fn respond(&self, req: &HttpRequest, file: File, content_type: &'static str) -> Result<HttpResponse, ApiError> {
        let Some(OpenedFile { file, size, etag }) = describe(file) else {
            return Err(ApiError::not_found("media_not_found", "no such file"));
        };

        let mut builder = HttpResponse::Ok();
        builder
            .insert_header((header::ETAG, etag.as_str()))
            .insert_header((header::CACHE_CONTROL, self.cache_control))
            .insert_header((header::ACCEPT_RANGES, "bytes"))
            .insert_header((header::CONTENT_TYPE, content_type));
        for (name, value) in self.extra_headers {
            builder.insert_header((*name, *value));
        }

        if if_none_match_hits(req, &etag) {
            return Ok(builder.status(StatusCode::NOT_MODIFIED).finish());
        }

        let range = match req.headers().get(header::RANGE).and_then(|v| v.to_str().ok()) {
            Some(value) if if_range_allows(req, &etag) => parse_range(value, size),
            _ => RangeRequest::Whole,
        };
        let part = match range {
            RangeRequest::Whole if size == 0 => None,
            RangeRequest::Whole => Some(ByteRange { first: 0, last: size - 1 }),
            RangeRequest::Partial(part) => {
                builder
                    .status(StatusCode::PARTIAL_CONTENT)
                    .insert_header((header::CONTENT_RANGE, format!("bytes {}-{}/{size}", part.first, part.last)));
                Some(part)
            }
            RangeRequest::Unsatisfiable => {
                builder
                    .status(StatusCode::RANGE_NOT_SATISFIABLE)
                    .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")));
                let error = ApiError::new(
                    StatusCode::RANGE_NOT_SATISFIABLE,
                    "range_not_satisfiable",
                    format!("the file has {size} bytes"),
                );
                return Ok(builder.json(error.body()));
            }
        };
        Ok(self.body(&mut builder, req, file, part))
    }

    fn body(
        &self,
        builder: &mut HttpResponseBuilder,
        req: &HttpRequest,
        file: File,
        part: Option<ByteRange>,
    ) -> HttpResponse {
        let length = part.map_or(0, |p| p.len());
        if req.method() == Method::HEAD || part.is_none() {
            // actix sends Content-Length but no body for HEAD; the file is not read.
            return builder.body(SizedStream::new(length, stream::empty::<Result<Bytes, std::io::Error>>()));
        }
        let first = part.map_or(0, |p| p.first);
        builder.body(SizedStream::new(length, read_chunks(file, first, length, self.served_bytes.clone())))
    }
}

fn describe(file: File) -> Option<OpenedFile> {
    let meta = file.metadata().ok()?;
    if !meta.is_file() {
        return None;
    }
    let size = meta.len();
    // Media files are written once and never modified in place, so size and
    // modification time identify the bytes (the same scheme nginx uses).
    let mtime_ns = meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128;
    let etag = format!("\"{size:x}-{mtime_ns:x}\"");
    Some(OpenedFile { file, size, etag })
}

fn if_none_match_hits(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate == etag || candidate.strip_prefix("W/") == Some(etag))
}

/// `If-Range` with a different validator means "the file changed: send it all".
fn if_range_allows(req: &HttpRequest, etag: &str) -> bool {
    match req.headers().get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(value) => value.trim() == etag,
    }
}

/// Reads `length` bytes from `offset` in chunks. A chunk already in the page
/// cache is read right here on the worker (`RWF_NOWAIT` refuses instead of
/// blocking), which saves a trip to the blocking pool per chunk; whatever
/// would wait for the disk is read on the blocking pool.
fn read_chunks(
    file: File,
    offset: u64,
    length: u64,
    counter: Option<Counter>,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let file = std::sync::Arc::new(file);
    stream::try_unfold((offset, length), move |(offset, remaining)| {
        let file = file.clone();
        let counter = counter.clone();
        async move {
            if remaining == 0 {
                return Ok(None);
            }
            let want = remaining.min(CHUNK_BYTES) as usize;
            let mut buf = take_read_buffer(want);
            let cached = read_cached(&file, &mut buf, offset);
            if cached < want {
                buf = actix_web::rt::task::spawn_blocking(move || -> std::io::Result<BytesMut> {
                    read_exact_at(&file, &mut buf[cached..], offset + cached as u64)?;
                    Ok(buf)
                })
                .await
                .map_err(std::io::Error::other)??;
            }
            if let Some(counter) = &counter {
                counter.inc_by(buf.len() as u64);
            }
            let read = buf.len() as u64;
            Ok(Some((buf.freeze(), (offset + read, remaining - read))))
        }
    })
}

thread_local! {
    /// This worker's read buffer. Each chunk is split off it and handed to
    /// actix, which copies it into the connection's write buffer and drops it;
    /// the next `reserve` then reclaims the same memory. Allocating a fresh
    /// 256 KiB buffer per chunk instead costs a mapping, page faults and page
    /// zeroing every time (glibc maps large allocations from the kernel).
    static READ_BUFFER: std::cell::RefCell<BytesMut> = std::cell::RefCell::new(BytesMut::new());
}

/// A zeroed buffer of `len` bytes, reusing this thread's memory when it is free.
fn take_read_buffer(len: usize) -> BytesMut {
    READ_BUFFER.with_borrow_mut(|pool| {
        pool.clear();
        pool.reserve(len.max(CHUNK_BYTES as usize));
        pool.resize(len, 0);
        pool.split_to(len)
    })
}

/// Reads what the page cache already holds, without blocking; returns the
/// number of bytes read (0 when nothing was cached or the kernel refuses).
fn read_cached(file: &File, buf: &mut [u8], offset: u64) -> usize {
    let mut filled = 0;
    while filled < buf.len() {
        let mut slices = [std::io::IoSliceMut::new(&mut buf[filled..])];
        match rustix::io::preadv2(file, &mut slices, offset + filled as u64, rustix::io::ReadWriteFlags::NOWAIT) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    filled
}

fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let n = file.read_at(&mut buf[filled..], offset + filled as u64)?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "file shrank while serving"));
        }
        filled += n;
    }
    Ok(())
}
