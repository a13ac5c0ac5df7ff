//! The lobby's link to other instances through Redis: this instance's users
//! go out on the shared channel (in full every few seconds, and as changes),
//! invitations and answers go to the channel of the instance holding the
//! user. Publishing goes through a queue; the lobby never waits for Redis.

use std::sync::Arc;
use std::time::Duration;

use cinemesh_protocol::lobby::{LobbyRelayed, UserId, UserView, lobby_channel, lobby_instance_channel};
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::mpsc;

/// Messages queued for publishing before new ones are dropped.
const QUEUE: usize = 16_384;
const BATCH: usize = 256;
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct LobbyRelay {
    instance: Arc<str>,
    prefix: Arc<str>,
    queue: mpsc::Sender<(String, LobbyRelayed)>,
}

impl LobbyRelay {
    /// Subscribes and publishes in the background (retrying while Redis
    /// cannot be reached); what other instances say arrives on the receiver.
    /// Only a URL that cannot be parsed fails.
    pub fn start(redis_url: &str, prefix: &str) -> redis::RedisResult<(Self, mpsc::Receiver<LobbyRelayed>)> {
        let client = redis::Client::open(redis_url)?;
        let connection = ConnectionManager::new_lazy_with_config(
            client.clone(),
            ConnectionManagerConfig::new().set_max_delay(crate::relay::RECONNECT_MAX_DELAY),
        )?;
        let instance: Arc<str> = cinemesh_common::id::random_id(12).into();
        let channels = [lobby_channel(prefix), lobby_instance_channel(prefix, &instance)];
        let (queue, outgoing) = mpsc::channel(QUEUE);
        let (incoming_tx, incoming) = mpsc::channel(QUEUE);
        actix_web::rt::spawn(listen(client, channels, instance.clone(), incoming_tx));
        actix_web::rt::spawn(publish(connection, outgoing));
        Ok((Self { instance, prefix: prefix.into(), queue }, incoming))
    }

    fn enqueue(&self, channel: String, message: LobbyRelayed) {
        if self.queue.try_send((channel, message)).is_err() {
            tracing::warn!("the lobby's Redis queue is full; a presence update was dropped");
        }
    }

    fn to_all(&self, message: LobbyRelayed) {
        self.enqueue(lobby_channel(&self.prefix), message);
    }

    pub fn hello(&self) {
        self.to_all(LobbyRelayed::Hello { instance: self.instance.to_string() });
    }

    pub fn everyone(&self, users: Vec<UserView>) {
        self.to_all(LobbyRelayed::Everyone { instance: self.instance.to_string(), users });
    }

    pub fn changed(&self, changed: Vec<UserView>, left: Vec<UserId>) {
        self.to_all(LobbyRelayed::Changed { instance: self.instance.to_string(), changed, left });
    }

    pub fn invite(&self, instance: &str, invitation: String, from: UserView, to: UserId, room: String) {
        let message = LobbyRelayed::Invite { invitation, from, from_instance: self.instance.to_string(), to, room };
        self.enqueue(lobby_instance_channel(&self.prefix, instance), message);
    }

    pub fn answer(&self, instance: &str, invitation: String, by: UserId, to: UserId, accepted: bool) {
        let message = LobbyRelayed::Answer { invitation, by, to, accepted };
        self.enqueue(lobby_instance_channel(&self.prefix, instance), message);
    }
}

async fn subscribe(client: &redis::Client, channels: &[String]) -> redis::RedisResult<redis::aio::PubSub> {
    let mut pubsub = client.get_async_pubsub().await?;
    for channel in channels {
        pubsub.subscribe(channel).await?;
    }
    Ok(pubsub)
}

/// Hands what other instances say to the lobby; this instance's own
/// announcements on the shared channel are skipped.
async fn listen(client: redis::Client, channels: [String; 2], instance: Arc<str>, lobby: mpsc::Sender<LobbyRelayed>) {
    loop {
        match subscribe(&client, &channels).await {
            Ok(current) => {
                let mut messages = current.into_on_message();
                while let Some(message) = messages.next().await {
                    let Ok(payload) = message.get_payload::<String>() else { continue };
                    let relayed = match serde_json::from_str::<LobbyRelayed>(&payload) {
                        Ok(relayed) => relayed,
                        Err(e) => {
                            tracing::warn!(error = %e, "ignoring a malformed lobby message");
                            continue;
                        }
                    };
                    let from_here = match &relayed {
                        LobbyRelayed::Everyone { instance: from, .. }
                        | LobbyRelayed::Changed { instance: from, .. }
                        | LobbyRelayed::Hello { instance: from } => **from == *instance,
                        _ => false,
                    };
                    if !from_here && lobby.send(relayed).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not subscribe for lobby messages"),
        }
        tokio::time::sleep(RECONNECT_AFTER).await;
    }
}

async fn publish(mut connection: ConnectionManager, mut outgoing: mpsc::Receiver<(String, LobbyRelayed)>) {
    let mut batch = Vec::with_capacity(BATCH);
    while outgoing.recv_many(&mut batch, BATCH).await > 0 {
        let mut pipe = redis::pipe();
        for (channel, message) in &batch {
            if let Ok(payload) = serde_json::to_string(message) {
                pipe.publish(channel, payload).ignore();
            }
        }
        if let Err(e) = pipe.query_async::<()>(&mut connection).await {
            tracing::warn!(error = %e, "could not publish lobby messages");
        }
        batch.clear();
    }
}
