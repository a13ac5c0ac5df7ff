//! Introduction across instances: how long after a peer on one instance
//! reports a new segment a peer on another instance is named as its holder.
//! Each probe is a pair of sockets in a swarm of its own, the reporter on the
//! first server and the asker on the second; the asker polls `who_has` until
//! the reporter shows up with the segment. The figure is what a viewer waits
//! before a holder on the other instance can be asked: the reporter's
//! instance writing to Redis (every 100 ms), the asker's noticing the change
//! (every 500 ms), and one poll (25 ms) at most. The probes' own messages
//! are counted with the viewers'.

use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_codec::Framed;
use awc::BoxedSocket;
use awc::ws::{Codec, Frame, Message};
use cinemesh_protocol::SegmentRanges;
use cinemesh_protocol::tracker::{ClientMessage, PROTOCOL_VERSION, PeerId, ServerMessage, SwarmKey};
use futures_util::{SinkExt, StreamExt};

use crate::rng::Rng;
use crate::stats::Observed;

/// Between two `who_has` of the asker: 40 a second, under the tracker's 50.
const POLL_EVERY: Duration = Duration::from_millis(25);
/// A segment not introduced within this long counts as an error.
const GIVE_UP_AFTER: Duration = Duration::from_secs(5);
/// Between one introduction and the next report: at least this, plus up to
/// `PAUSE_SPREAD` at random, so that reports do not fall into step with the
/// instances' 500 ms reads (a fixed pause did: every sample came out alike).
const PAUSE: Duration = Duration::from_millis(100);
const PAUSE_SPREAD_SECS: f64 = 0.5;
/// Longest wait for one answer.
const ANSWER_WITHIN: Duration = Duration::from_secs(5);

pub struct ProbePlan {
    pub reporter_url: String,
    pub asker_url: String,
    pub swarm: SwarmKey,
    pub token: String,
    pub segments: u32,
    pub seed: u64,
}

type Socket = Framed<BoxedSocket, Codec>;

pub async fn run(client: awc::Client, plan: ProbePlan, observed: Rc<Observed>) {
    if let Err(code) = probe(&client, &plan, &observed).await {
        observed.error(code);
    }
}

async fn probe(client: &awc::Client, plan: &ProbePlan, observed: &Observed) -> Result<(), &'static str> {
    let (mut reporter, reporter_id) = joined(client, &plan.reporter_url, plan, observed).await?;
    let (mut asker, _) = joined(client, &plan.asker_url, plan, observed).await?;
    let mut rng = Rng::new(plan.seed);
    let mut sequence: u32 = 0;
    while !observed.stop.get() {
        let dropped = SegmentRanges::from_sequences(sequence.checked_sub(1));
        let added = SegmentRanges::from_sequences([sequence]);
        send(&mut reporter, &ClientMessage::Have { swarm: plan.swarm.clone(), added, dropped }, observed).await?;
        let reported = Instant::now();
        loop {
            if observed.stop.get() {
                return Ok(());
            }
            let ask = ClientMessage::WhoHas { swarm: plan.swarm.clone(), from: sequence, count: 1, limit: None };
            send(&mut asker, &ask, observed).await?;
            let named = match answer(&mut asker, observed).await? {
                ServerMessage::Holders { peers, .. } => {
                    peers.iter().any(|h| h.peer == reporter_id && h.holds.iter().any(|s| s == sequence))
                }
                _ => false,
            };
            if named {
                observed.introduction(reported.elapsed());
                break;
            }
            if reported.elapsed() >= GIVE_UP_AFTER {
                observed.error("introduction_timed_out");
                break;
            }
            actix_rt::time::sleep(POLL_EVERY).await;
        }
        // The reporter's socket is read too, so that nothing queues up on it.
        drain(&mut reporter, observed).await?;
        actix_rt::time::sleep(PAUSE + Duration::from_secs_f64(rng.unit() * PAUSE_SPREAD_SECS)).await;
        sequence = (sequence + 1) % plan.segments;
    }
    Ok(())
}

/// Connects, says hello and joins the probe's swarm holding nothing.
async fn joined(
    client: &awc::Client,
    url: &str,
    plan: &ProbePlan,
    observed: &Observed,
) -> Result<(Socket, PeerId), &'static str> {
    let (_, mut socket) = client.ws(url).connect().await.map_err(|_| "probe_connect_failed")?;
    send(&mut socket, &ClientMessage::Hello { version: PROTOCOL_VERSION }, observed).await?;
    let ServerMessage::Welcome { peer, .. } = answer(&mut socket, observed).await? else {
        return Err("probe_not_welcomed");
    };
    let join = ClientMessage::Join {
        swarm: plan.swarm.clone(),
        token: plan.token.clone(),
        holdings: SegmentRanges::default(),
    };
    send(&mut socket, &join, observed).await?;
    let ServerMessage::Joined { .. } = answer(&mut socket, observed).await? else { return Err("probe_not_joined") };
    Ok((socket, peer))
}

/// Sends one message. The probes' messages count with the viewers': the
/// tracker's CPU per message covers them too.
async fn send(socket: &mut Socket, message: &ClientMessage, observed: &Observed) -> Result<(), &'static str> {
    let text = serde_json::to_string(message).map_err(|_| "probe_unserializable")?;
    socket.send(Message::Text(text.into())).await.map_err(|_| "probe_connection_lost")?;
    observed.sent_one();
    Ok(())
}

/// The next text message.
async fn answer(socket: &mut Socket, observed: &Observed) -> Result<ServerMessage, &'static str> {
    let deadline = Instant::now() + ANSWER_WITHIN;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match actix_rt::time::timeout(left, socket.next()).await {
            Err(_) => return Err("probe_no_answer"),
            Ok(Some(Ok(Frame::Text(text)))) => {
                observed.received_one();
                return serde_json::from_slice(&text).map_err(|_| "probe_unparsable_answer");
            }
            Ok(Some(Ok(_))) => {}
            Ok(None | Some(Err(_))) => return Err("probe_connection_lost"),
        }
    }
}

/// Reads whatever is already waiting.
async fn drain(socket: &mut Socket, observed: &Observed) -> Result<(), &'static str> {
    loop {
        match actix_rt::time::timeout(Duration::ZERO, socket.next()).await {
            Err(_) => return Ok(()),
            Ok(Some(Ok(Frame::Text(_)))) => observed.received_one(),
            Ok(Some(Ok(_))) => {}
            Ok(None | Some(Err(_))) => return Err("probe_connection_lost"),
        }
    }
}
