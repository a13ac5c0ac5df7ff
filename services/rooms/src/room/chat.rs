//! The room's chat: messages (sent again after a reconnect, posted once),
//! reactions, who is typing, and the room's own lines. The recent history
//! goes to every member in its welcome and to the store.

use cinemesh_protocol::room::{
    CHAT_HISTORY, ChatKind, ChatMessage, MAX_CHAT_CHARS, MAX_EMOJI_CHARS, MAX_NONCE_CHARS, Reaction, RoomServerMessage,
};

use super::Room;
use crate::Refusal;
use crate::store::RoomWrite;

/// Distinct reactions one chat message carries, and how many of them one member may add.
const MAX_REACTIONS_PER_MESSAGE: usize = 12;
const MAX_REACTIONS_PER_MEMBER: usize = 3;

impl Room {
    pub(super) fn say(&mut self, name: String, text: &str, nonce: Option<String>) -> Result<(), Refusal> {
        let text = crate::text::clean_chat(text)?;
        let text = text.as_str();
        if text.is_empty() || text.chars().count() > MAX_CHAT_CHARS {
            return Err(Refusal::new("invalid_chat", format!("a message has 1 to {MAX_CHAT_CHARS} characters")));
        }
        if nonce.as_ref().is_some_and(|n| n.is_empty() || n.chars().count() > MAX_NONCE_CHARS) {
            return Err(Refusal::new("invalid_chat", format!("a nonce has 1 to {MAX_NONCE_CHARS} characters")));
        }
        // Sent again after a reconnect, and already posted: nothing to do.
        if nonce.is_some() && self.chat.iter().any(|m| m.nonce == nonce) {
            return Ok(());
        }
        self.post(ChatKind::User, name, text.to_owned(), nonce);
        Ok(())
    }

    /// Only a change goes out: repeats of the same state are coalesced.
    pub(super) fn set_typing(&mut self, member: &str, active: bool) {
        let changed = if active { self.typing.insert(member.to_owned()) } else { self.typing.remove(member) };
        if changed {
            self.broadcast_except(member, &RoomServerMessage::Typing { member: member.to_owned(), active });
        }
    }

    /// Adds `member`'s reaction to a message, or takes it back when it is there already.
    pub(super) fn react(&mut self, member: &str, message: u64, emoji: String) -> Result<(), Refusal> {
        let chars = emoji.chars().count();
        if chars == 0 || chars > MAX_EMOJI_CHARS || emoji.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Refusal::new(
                "invalid_reaction",
                format!("a reaction is 1 to {MAX_EMOJI_CHARS} characters, no spaces"),
            ));
        }
        let target = self
            .chat
            .iter_mut()
            .find(|m| m.id == message && m.kind == ChatKind::User)
            .ok_or_else(|| Refusal::new("unknown_message", "no such message in the recent chat"))?;
        let mine = target.reactions.iter().filter(|r| r.members.iter().any(|m| m == member)).count();
        let distinct = target.reactions.len();
        let too_many = || Refusal::new("too_many_reactions", "this message has as many reactions as it takes");
        match target.reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(reaction) if reaction.members.iter().any(|m| m == member) => {
                reaction.members.retain(|m| m != member);
            }
            Some(_) if mine >= MAX_REACTIONS_PER_MEMBER => return Err(too_many()),
            Some(reaction) => reaction.members.push(member.to_owned()),
            None if mine >= MAX_REACTIONS_PER_MEMBER || distinct >= MAX_REACTIONS_PER_MESSAGE => {
                return Err(too_many());
            }
            None => target.reactions.push(Reaction { emoji, members: vec![member.to_owned()] }),
        }
        target.reactions.retain(|r| !r.members.is_empty());
        let reactions = target.reactions.clone();
        self.broadcast(&RoomServerMessage::Reactions { message, reactions });
        Ok(())
    }

    pub(super) fn system(&mut self, text: String) {
        self.post(ChatKind::System, String::new(), text, None);
    }

    pub(super) fn post(&mut self, kind: ChatKind, name: String, text: String, nonce: Option<String>) {
        let now = (self.now_ms)();
        let message = ChatMessage {
            id: self.next_chat_id,
            kind,
            name,
            text,
            server_ms: now,
            video_ms: self.clock.position_at(now),
            reactions: Vec::new(),
            nonce,
        };
        self.next_chat_id += 1;
        if let Some(store) = &self.store {
            store.write(RoomWrite::Chat { room: self.setup.id.clone(), message: message.clone() });
        }
        self.chat.push_back(message.clone());
        while self.chat.len() > CHAT_HISTORY {
            self.chat.pop_front();
        }
        self.broadcast(&RoomServerMessage::Chat { message });
    }
}
