//! The owner of WebTorrent swarms: one task, fed by the sessions. Offers go
//! to random other peers of the swarm; answers go to the peer they name; a
//! peer id belongs to the connection that announced it, so no other
//! connection can answer or announce under it.

use std::collections::HashMap;

use cinemesh_protocol::webtorrent::{announce_reply, failure, relayed_answer, relayed_offer};
use serde_json::{Value, json};
use tokio::sync::mpsc;

pub type Outbox = mpsc::Sender<Value>;

#[derive(Debug)]
pub enum WtCommand {
    Announce {
        conn: u64,
        outbox: Outbox,
        info_hash: String,
        peer_id: String,
        /// `left == 0`: a seeder.
        complete: bool,
        event: Option<String>,
        offers: Vec<(String, Value)>,
    },
    Answer {
        conn: u64,
        outbox: Outbox,
        info_hash: String,
        peer_id: String,
        to_peer_id: String,
        offer_id: String,
        answer: Value,
    },
    Scrape {
        outbox: Outbox,
        info_hashes: Vec<String>,
    },
    Disconnect {
        conn: u64,
    },
}

struct Peer {
    conn: u64,
    outbox: Outbox,
    complete: bool,
}

#[derive(Default)]
struct Swarm {
    peers: HashMap<String, Peer>,
    /// Announces with `event: completed`.
    downloaded: u64,
}

impl Swarm {
    fn counts(&self) -> (usize, usize) {
        let complete = self.peers.values().filter(|p| p.complete).count();
        (complete, self.peers.len() - complete)
    }
}

#[derive(Default)]
pub struct Swarms {
    swarms: HashMap<String, Swarm>,
    /// Which (info hash, peer id) pairs each connection announced.
    by_conn: HashMap<u64, Vec<(String, String)>>,
    rng: u64,
}

fn send(outbox: &Outbox, message: Value) {
    // A full outbox loses the message rather than stalling every swarm.
    let _ = outbox.try_send(message);
}

impl Swarms {
    pub async fn run(mut self, mut commands: mpsc::Receiver<WtCommand>) {
        self.rng = cinemesh_common::db::now_ms() as u64 | 1;
        while let Some(command) = commands.recv().await {
            self.handle(command);
        }
    }

    fn next_random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn handle(&mut self, command: WtCommand) {
        match command {
            WtCommand::Announce { conn, outbox, info_hash, peer_id, complete, event, offers } => {
                self.announce(conn, outbox, info_hash, peer_id, complete, event.as_deref(), offers);
            }
            WtCommand::Answer { conn, outbox, info_hash, peer_id, to_peer_id, offer_id, answer } => {
                let Some(swarm) = self.swarms.get(&info_hash) else {
                    return send(&outbox, failure("announce", "unknown info_hash: announce first"));
                };
                if swarm.peers.get(&peer_id).is_none_or(|p| p.conn != conn) {
                    return send(&outbox, failure("announce", "peer_id is not yours: announce first"));
                }
                match swarm.peers.get(&to_peer_id) {
                    Some(target) => send(&target.outbox, relayed_answer(&info_hash, &peer_id, &offer_id, &answer)),
                    None => send(&outbox, failure("announce", "to_peer_id is not in this swarm")),
                }
            }
            WtCommand::Scrape { outbox, info_hashes } => {
                let mut files = serde_json::Map::new();
                for hash in info_hashes {
                    let (complete, incomplete, downloaded) = self
                        .swarms
                        .get(&hash)
                        .map(|s| {
                            let (c, i) = s.counts();
                            (c, i, s.downloaded)
                        })
                        .unwrap_or_default();
                    files.insert(
                        hash,
                        json!({ "complete": complete, "incomplete": incomplete, "downloaded": downloaded }),
                    );
                }
                send(&outbox, json!({ "action": "scrape", "files": files }));
            }
            WtCommand::Disconnect { conn } => {
                for (info_hash, peer_id) in self.by_conn.remove(&conn).unwrap_or_default() {
                    self.remove_peer(&info_hash, &peer_id);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn announce(
        &mut self,
        conn: u64,
        outbox: Outbox,
        info_hash: String,
        peer_id: String,
        complete: bool,
        event: Option<&str>,
        offers: Vec<(String, Value)>,
    ) {
        let swarm = self.swarms.entry(info_hash.clone()).or_default();
        if swarm.peers.get(&peer_id).is_some_and(|p| p.conn != conn) {
            return send(&outbox, failure("announce", "peer_id is in use by another connection"));
        }
        if event == Some("stopped") {
            self.remove_peer(&info_hash, &peer_id);
            if let Some(list) = self.by_conn.get_mut(&conn) {
                list.retain(|(h, p)| !(h == &info_hash && p == &peer_id));
            }
            return;
        }
        if event == Some("completed") {
            swarm.downloaded += 1;
        }
        let new = swarm.peers.insert(peer_id.clone(), Peer { conn, outbox: outbox.clone(), complete }).is_none();
        let (complete_count, incomplete_count) = swarm.counts();
        let mut others: Vec<Outbox> =
            swarm.peers.iter().filter(|(id, _)| **id != peer_id).map(|(_, p)| p.outbox.clone()).collect();
        if new {
            self.by_conn.entry(conn).or_default().push((info_hash.clone(), peer_id.clone()));
        }
        send(&outbox, announce_reply(&info_hash, complete_count, incomplete_count));
        // Each offer to a different random peer (a partial shuffle).
        for (offer_id, offer) in offers {
            if others.is_empty() {
                break;
            }
            let pick = (self.next_random() % others.len() as u64) as usize;
            let target = others.swap_remove(pick);
            send(&target, relayed_offer(&info_hash, &peer_id, &offer_id, &offer));
        }
    }

    fn remove_peer(&mut self, info_hash: &str, peer_id: &str) {
        if let Some(swarm) = self.swarms.get_mut(info_hash) {
            swarm.peers.remove(peer_id);
            if swarm.peers.is_empty() {
                self.swarms.remove(info_hash);
            }
        }
    }
}
