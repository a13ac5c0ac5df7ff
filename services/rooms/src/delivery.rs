//! How a room reaches its members. A message is serialized once into a
//! frame that every session writes as is; members on this instance get it
//! through their session's outbox, members on other instances through the
//! relay, one publish per instance. The room never waits on either.

use std::collections::HashMap;

use cinemesh_protocol::room_relay::ConnectionKey;
use tokio::sync::mpsc;

use crate::frame::Frame;
use crate::relay::Relay;

/// Frames queued for one session before further ones are dropped.
pub const OUTBOX_CAPACITY: usize = 256;

/// Where a member's frames go.
#[derive(Debug)]
pub enum Route {
    /// A session on this instance.
    Local(mpsc::Sender<Frame>),
    /// A session on another instance, through the relay.
    Remote { instance: String, relay: Relay },
}

/// One socket's hold on a member. Dropping it lets go of the socket: a local
/// session's outbox closes, a remote one is told to close.
#[derive(Debug)]
pub struct Attachment {
    pub connection: ConnectionKey,
    pub route: Route,
}

impl Drop for Attachment {
    fn drop(&mut self) {
        if let Route::Remote { instance, relay } = &self.route {
            relay.close(instance, vec![self.connection.clone()]);
        }
    }
}

impl Attachment {
    pub fn send(&self, frame: &Frame) {
        match &self.route {
            Route::Local(outbox) => {
                let _ = outbox.try_send(frame.clone());
            }
            Route::Remote { instance, relay } => relay.deliver(instance, vec![self.connection.clone()], frame),
        }
    }
}

/// Sends one frame to many attachments: local ones directly, remote ones
/// gathered into one relayed message per instance.
pub fn fan_out<'a>(attachments: impl Iterator<Item = &'a Attachment>, frame: &Frame) {
    let mut remote: HashMap<&str, (Vec<ConnectionKey>, &Relay)> = HashMap::new();
    for attachment in attachments {
        match &attachment.route {
            Route::Local(outbox) => {
                let _ = outbox.try_send(frame.clone());
            }
            Route::Remote { instance, relay } => {
                remote
                    .entry(instance.as_str())
                    .or_insert_with(|| (Vec::new(), relay))
                    .0
                    .push(attachment.connection.clone());
            }
        }
    }
    for (instance, (connections, relay)) in remote {
        relay.deliver(instance, connections, frame);
    }
}
