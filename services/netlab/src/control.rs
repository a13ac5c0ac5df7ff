//! The driver's control socket (`/run/netlab/<run id>.sock`): one JSON request per connection,
//! one JSON response back. `netlab link`, `renumber`, `calibrate` and `down` speak it.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub enum Request {
    /// Plug (`up: true`) or unplug a link.
    LinkState {
        link: String,
        up: bool,
    },
    /// New rates; absent fields stay.
    Rate {
        link: String,
        up_mbit: Option<f64>,
        down_mbit: Option<f64>,
    },
    /// New delay, jitter and loss; absent fields stay.
    Delay {
        link: String,
        rtt_ms: Option<f64>,
        jitter_ms: Option<f64>,
        loss_pct: Option<f64>,
    },
    /// A new WAN address for a home.
    Renumber {
        home: String,
    },
    Calibrate,
    Down,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    /// What to print.
    pub message: String,
    /// Calibrations: whether every figure was within 10 %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_within: Option<bool>,
}

impl Response {
    pub fn ok(message: impl Into<String>) -> Self {
        Self { ok: true, message: message.into(), all_within: None }
    }

    pub fn error(err: &anyhow::Error) -> Self {
        Self { ok: false, message: format!("{err:#}"), all_within: None }
    }
}

/// Sends one request to the driver listening on `socket` and returns its answer.
pub fn send(socket: &Path, request: &Request) -> anyhow::Result<Response> {
    let mut stream = UnixStream::connect(socket)
        .with_context(|| format!("connecting to the lab's driver at {}", socket.display()))?;
    let mut line = serde_json::to_string(request)?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).context("reading the driver's answer")?;
    serde_json::from_str(answer.trim()).with_context(|| format!("the driver answered {:?}", answer.trim()))
}

/// Reads one request from a connection.
pub fn read_request(stream: &UnixStream) -> anyhow::Result<Request> {
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    serde_json::from_str(line.trim()).with_context(|| format!("bad request {:?}", line.trim()))
}

pub fn write_response(mut stream: &UnixStream, response: &Response) -> anyhow::Result<()> {
    let mut line = serde_json::to_string(response)?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_json() {
        let r = Request::Delay { link: "home1".into(), rtt_ms: Some(80.0), jitter_ms: None, loss_pct: Some(1.0) };
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.contains("\"request\":\"delay\""), "{text}");
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r);
    }

    #[test]
    fn a_request_crosses_a_socket_pair() {
        let (a, b) = UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || {
            let req = read_request(&b).unwrap();
            write_response(&b, &Response::ok(format!("{req:?}"))).unwrap();
        });
        let mut line = serde_json::to_string(&Request::Calibrate).unwrap();
        line.push('\n');
        (&a).write_all(line.as_bytes()).unwrap();
        let mut answer = String::new();
        BufReader::new(&a).read_line(&mut answer).unwrap();
        server.join().unwrap();
        let response: Response = serde_json::from_str(answer.trim()).unwrap();
        assert!(response.ok && response.message.contains("Calibrate"));
    }
}
