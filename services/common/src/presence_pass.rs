//! Presence passes: a room hands one to each member in its welcome, and the
//! lobby shows a user in a room only on a pass for that room. Room ids are
//! capabilities (whoever knows one can knock), so the lobby never takes a
//! user's word for where they are, and never shows a room to anyone outside it.
//!
//! Format: `{member}.{expires_unix_secs}.{hex mac}` over the room, the member
//! and the expiry; member ids contain no dots.

use crate::signer::Signer;

/// How long a pass holds, seconds: longer than any evening in one room.
pub const PASS_LIFETIME_SECS: u64 = 12 * 3600;
const PURPOSE: &str = "cinemesh-presence-v1";
const LOBBY_PURPOSE: &str = "cinemesh-lobby-user-v1";

#[derive(Clone, Debug)]
pub struct PresencePasses {
    signer: Signer,
}

impl PresencePasses {
    pub fn new(signer: Signer) -> Self {
        Self { signer }
    }

    /// A pass for `member` of `room`.
    pub fn issue(&self, room: &str, member: &str, now_unix_secs: u64) -> String {
        let expires = (now_unix_secs + PASS_LIFETIME_SECS).to_string();
        let signature = self.signer.sign(PURPOSE, &[room, member, &expires]);
        format!("{member}.{expires}.{signature}")
    }

    /// The member a pass was issued to, when it is a current pass for `room`.
    pub fn verify(&self, pass: &str, room: &str, now_unix_secs: u64) -> Option<String> {
        let mut parts = pass.split('.');
        let (Some(member), Some(expires), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let current = expires.parse::<u64>().is_ok_and(|expires| now_unix_secs < expires);
        (current && self.signer.verify(PURPOSE, &[room, member, expires], signature)).then(|| member.to_owned())
    }

    /// What a lobby user gives in its next hello to come back as `user`
    /// (same id, same name) after a dropped socket, for `PASS_LIFETIME_SECS`:
    /// `{user}.{expires_unix_secs}.{hex mac}`.
    pub fn lobby_resume_token(&self, user: &str, now_unix_secs: u64) -> String {
        let expires = (now_unix_secs + PASS_LIFETIME_SECS).to_string();
        format!("{user}.{expires}.{}", self.signer.sign(LOBBY_PURPOSE, &[user, &expires]))
    }

    /// The user a current lobby resume token was issued to.
    pub fn lobby_user(&self, token: &str, now_unix_secs: u64) -> Option<String> {
        let mut parts = token.split('.');
        let (Some(user), Some(expires), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let current = expires.parse::<u64>().is_ok_and(|expires| now_unix_secs < expires);
        (current && self.signer.verify(LOBBY_PURPOSE, &[user, expires], signature)).then(|| user.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_names_its_member_for_its_room_until_it_expires() {
        let passes = PresencePasses::new(Signer::new("s"));
        let pass = passes.issue("room1", "ana", 1000);
        assert_eq!(passes.verify(&pass, "room1", 1001).as_deref(), Some("ana"));
        assert_eq!(passes.verify(&pass, "room2", 1001), None, "another room");
        assert_eq!(passes.verify(&pass, "room1", 1000 + PASS_LIFETIME_SECS), None, "expired");
        assert_eq!(PresencePasses::new(Signer::new("t")).verify(&pass, "room1", 1001), None, "another secret");
        let forged = pass.replacen("ana", "ben", 1);
        assert_eq!(passes.verify(&forged, "room1", 1001), None, "another member");
        for junk in ["", "a.b", "a.1.zz", "a.x.00", "a.b.c.d"] {
            assert_eq!(passes.verify(junk, "room1", 1001), None, "{junk}");
        }
    }

    #[test]
    fn a_lobby_token_names_its_user_and_no_other() {
        let passes = PresencePasses::new(Signer::new("s"));
        let token = passes.lobby_resume_token("u1", 1000);
        assert_eq!(passes.lobby_user(&token, 1001).as_deref(), Some("u1"));
        assert_eq!(passes.lobby_user(&token, 1000 + PASS_LIFETIME_SECS), None, "expired");
        assert_eq!(passes.lobby_user(&token.replacen("u1", "u2", 1), 1001), None);
        assert_eq!(passes.lobby_user("u1", 1001), None);
        // A room pass is no lobby token.
        assert_eq!(passes.lobby_user(&passes.issue("u1", "m", 1000), 1001), None);
    }
}
