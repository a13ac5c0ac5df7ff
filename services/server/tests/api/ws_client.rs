//! A WebSocket client for tests that speaks JSON text frames: the tracker's
//! and the rooms' test clients are built on it.

use std::time::Duration;

use actix_codec::Framed;
use awc::BoxedSocket;
use awc::ws::{Codec, Frame, Message};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::helpers::Endpoint;

/// What the test client calls itself, as the tracker records it.
pub const USER_AGENT: &str = "cinemesh-tests/1";

/// What came back instead of a message.
#[derive(Debug, PartialEq)]
pub enum Ending {
    Closed(Option<String>),
    Silence,
}

pub struct JsonSocket {
    socket: Framed<BoxedSocket, Codec>,
    /// The close code the server gave, once it closed.
    pub close_code: Option<u16>,
}

impl JsonSocket {
    pub async fn connect(app: &impl Endpoint, path: &str) -> Self {
        Self::connect_with(app, path, &[]).await
    }

    /// Connects with extra request headers (`x-forwarded-for`, as a proxy sends).
    pub async fn connect_with(app: &impl Endpoint, path: &str, headers: &[(&str, &str)]) -> Self {
        let url = app.url(path).replacen("http://", "ws://", 1);
        let mut request = app.http().ws(url);
        for (name, value) in headers {
            request = request.set_header(*name, *value);
        }
        let (_, socket) = request
            .set_header("user-agent", USER_AGENT)
            .max_frame_size(1 << 20)
            .connect()
            .await
            .expect("websocket connects");
        Self { socket, close_code: None }
    }

    pub async fn send<T: Serialize>(&mut self, message: &T) {
        self.send_text(&serde_json::to_string(message).unwrap()).await;
    }

    /// Sends unless the socket is gone; says whether it went.
    pub async fn try_send<T: Serialize>(&mut self, message: &T) -> bool {
        let text = serde_json::to_string(message).unwrap();
        self.socket.send(Message::Text(text.into())).await.is_ok()
    }

    pub async fn send_text(&mut self, text: &str) {
        self.socket.send(Message::Text(text.to_owned().into())).await.expect("send");
    }

    pub async fn send_ping(&mut self) {
        self.socket.send(Message::Ping(Default::default())).await.expect("send");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.socket.send(Message::Binary(bytes.into())).await.expect("send");
    }

    /// The next message, or how the connection ended.
    pub async fn next<T: DeserializeOwned>(&mut self, wait: Duration) -> Result<T, Ending> {
        loop {
            match actix_web::rt::time::timeout(wait, self.socket.next()).await {
                Err(_) => return Err(Ending::Silence),
                Ok(None) | Ok(Some(Err(_))) => return Err(Ending::Closed(None)),
                Ok(Some(Ok(Frame::Text(text)))) => {
                    return Ok(serde_json::from_slice(&text).expect("server sends protocol messages"));
                }
                Ok(Some(Ok(Frame::Close(reason)))) => {
                    self.close_code = reason.as_ref().map(|r| u16::from(r.code));
                    return Err(Ending::Closed(reason.and_then(|r| r.description)));
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The text frames received until one satisfies `done` (included); panics
    /// if the socket ends or stays silent for `wait` first.
    pub async fn until_raw(&mut self, wait: Duration, done: impl Fn(&str) -> bool) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            match actix_web::rt::time::timeout(wait, self.socket.next()).await {
                Ok(Some(Ok(Frame::Text(text)))) => {
                    let text = String::from_utf8_lossy(&text).into_owned();
                    let finished = done(&text);
                    seen.push(text);
                    if finished {
                        return seen;
                    }
                }
                Ok(Some(Ok(Frame::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => panic!("socket ended: {seen:?}"),
                Err(_) => panic!("silent for {wait:?}: {seen:?}"),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}
