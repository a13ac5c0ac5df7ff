//! Admin users and signed-in browser sessions, in the database every
//! instance shares, so a session opened on one instance works on all.

use std::sync::Arc;
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use cinemesh_common::Database;
use cinemesh_common::db::now_ms;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tokio::sync::Semaphore;

use crate::domain::InvalidInput;

/// How long a browser stays signed in, whatever it does.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Who a session signed in with the admin token belongs to; user names
/// cannot contain parentheses, so no user can take this name.
pub const TOKEN_USER: &str = "(admin token)";

const MIN_PASSWORD_CHARS: usize = 12;
/// Bounds the work of one hash: argon2 reads the whole password.
const MAX_PASSWORD_BYTES: usize = 1024;

/// An admin user's name: 1 to 64 letters, digits, `.`, `_` or `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(String);

impl UserName {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let ok = (1..=64).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(InvalidInput::new("invalid_user_name", "a user name is 1 to 64 letters, digits, '.', '_' or '-'"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password, long enough to resist guessing.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        if raw.chars().count() < MIN_PASSWORD_CHARS || raw.len() > MAX_PASSWORD_BYTES {
            return Err(InvalidInput::new(
                "weak_password",
                format!(
                    "a password has at least {MIN_PASSWORD_CHARS} characters (and at most {MAX_PASSWORD_BYTES} bytes)"
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }
}

/// A signed-in browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    pub user: String,
    /// For a session opened with the admin token: that token's fingerprint.
    /// Another token configured since ends the session.
    pub token_sha256: Option<String>,
    /// What unsafe requests repeat in the `x-csrf-token` header.
    pub csrf_token: String,
    pub expires_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("could not hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Clone, Debug)]
pub struct AdminAccounts {
    db: Database,
    /// Argon2 takes ~19 MiB and a core's tens of milliseconds a hash: at
    /// most this many run at once, however many sign-ins come.
    hashing: Arc<Semaphore>,
}

/// Password hashes run at once, at most.
const HASHES_AT_ONCE: usize = 2;

impl AdminAccounts {
    pub fn new(db: Database) -> Self {
        Self { db, hashing: Arc::new(Semaphore::new(HASHES_AT_ONCE)) }
    }

    /// Adds a user, or gives an existing one a new password (which signs
    /// their browsers out).
    pub async fn set_user(&self, name: &UserName, password: &NewPassword) -> Result<(), AccountError> {
        let password = password.0.clone();
        // The permit goes with the hash: a request dropped meanwhile does not free it early.
        let hashing = self.hashing.clone().acquire_owned().await.map_err(|e| AccountError::Hash(e.to_string()))?;
        let hash = tokio::task::spawn_blocking(move || {
            let _hashing = hashing;
            hash_password(&password)
        })
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
        sqlx::query(
            "INSERT INTO admin_users (name, password_hash, created_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash",
        )
        .bind(name.as_str())
        .bind(hash)
        .bind(now_ms())
        .execute(self.db.pool())
        .await?;
        self.end_sessions_of(name.as_str()).await?;
        Ok(())
    }

    /// Removes a user and signs their browsers out; whether there was one.
    pub async fn remove_user(&self, name: &UserName) -> Result<bool, sqlx::Error> {
        let removed =
            sqlx::query("DELETE FROM admin_users WHERE name = $1").bind(name.as_str()).execute(self.db.pool()).await?;
        self.end_sessions_of(name.as_str()).await?;
        Ok(removed.rows_affected() > 0)
    }

    pub async fn user_names(&self) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT name FROM admin_users ORDER BY name").fetch_all(self.db.pool()).await
    }

    pub async fn has_users(&self) -> Result<bool, sqlx::Error> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM admin_users").fetch_one(self.db.pool()).await?;
        Ok(count > 0)
    }

    /// Whether `password` is `name`'s. An unknown name costs a hash too, so
    /// the time taken does not tell which names exist.
    pub async fn verify(&self, name: &str, password: &str) -> Result<bool, AccountError> {
        let stored: Option<String> = sqlx::query_scalar("SELECT password_hash FROM admin_users WHERE name = $1")
            .bind(name)
            .fetch_optional(self.db.pool())
            .await?;
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| UNKNOWN_USER_HASH.to_owned());
        let password = password.to_owned();
        let hashing = self.hashing.clone().acquire_owned().await.map_err(|e| AccountError::Hash(e.to_string()))?;
        let matches = tokio::task::spawn_blocking(move || {
            let _hashing = hashing;
            verify_password(&password, &stored)
        })
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))?;
        Ok(known && matches)
    }

    /// Opens a session for `user`: the cookie value (given to the browser
    /// only) and the session.
    pub async fn open_session(&self, user: &str, token: Option<&str>) -> Result<(String, AdminSession), sqlx::Error> {
        let cookie = cinemesh_common::id::random_id(40);
        let now = now_ms();
        let session = AdminSession {
            user: user.to_owned(),
            token_sha256: token.map(|token| token_fingerprint(&cookie, token)),
            csrf_token: cinemesh_common::id::random_id(32),
            expires_at_ms: now + SESSION_TTL.as_millis() as i64,
        };
        sqlx::query(
            "INSERT INTO admin_sessions (id_sha256, user_name, token_sha256, csrf_token, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(session_key(&cookie))
        .bind(&session.user)
        .bind(&session.token_sha256)
        .bind(&session.csrf_token)
        .bind(now)
        .bind(session.expires_at_ms)
        .execute(self.db.pool())
        .await?;
        // Now and then, forget sessions that ran out.
        sqlx::query("DELETE FROM admin_sessions WHERE expires_at_ms < $1").bind(now).execute(self.db.pool()).await?;
        Ok((cookie, session))
    }

    /// The live session a cookie value opens, if any.
    pub async fn session(&self, cookie: &str) -> Result<Option<AdminSession>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT user_name, token_sha256, csrf_token, expires_at_ms FROM admin_sessions \
             WHERE id_sha256 = $1 AND expires_at_ms > $2",
        )
        .bind(session_key(cookie))
        .bind(now_ms())
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|row| {
            Ok(AdminSession {
                user: row.try_get("user_name")?,
                token_sha256: row.try_get("token_sha256")?,
                csrf_token: row.try_get("csrf_token")?,
                expires_at_ms: row.try_get("expires_at_ms")?,
            })
        })
        .transpose()
    }

    pub async fn close_session(&self, cookie: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM admin_sessions WHERE id_sha256 = $1")
            .bind(session_key(cookie))
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    async fn end_sessions_of(&self, user: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM admin_sessions WHERE user_name = $1").bind(user).execute(self.db.pool()).await?;
        Ok(())
    }
}

/// What a token session remembers of the token: enough to tell it changed,
/// salted with the session's cookie, which the database does not hold, so a
/// copy of the database is no help in guessing the token.
pub fn token_fingerprint(cookie: &str, token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(cookie.as_bytes());
    hasher.update([0]);
    hasher.update(token.as_bytes());
    hex::encode(hasher.finalize())
}

/// Sessions are stored by the hash of their cookie: a copy of the database
/// signs nobody in.
fn session_key(cookie: &str) -> String {
    hex::encode(Sha256::digest(cookie.as_bytes()))
}

fn hash_password(password: &str) -> Result<String, AccountError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// A hash of a password nobody has, checked against for unknown names.
const UNKNOWN_USER_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$G1T4S3Jx7NLYJT1ZxXb6dzBfWwS4n6bYm9hdB8rIfW0";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_short_and_plain() {
        assert!(UserName::parse("ana.b_2-x").is_ok());
        for bad in ["", "a b", "(admin token)", "ana@home", &"a".repeat(65)] {
            assert_eq!(UserName::parse(bad).unwrap_err().code, "invalid_user_name", "{bad:?}");
        }
    }

    #[test]
    fn passwords_have_a_floor_and_a_ceiling() {
        assert!(NewPassword::parse("correct horse").is_ok());
        assert_eq!(NewPassword::parse("short").err().map(|e| e.code), Some("weak_password"));
        assert_eq!(NewPassword::parse(&"x".repeat(1025)).err().map(|e| e.code), Some("weak_password"));
    }

    #[test]
    fn a_hashed_password_verifies_and_another_does_not() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("anything", "not a PHC string"));
    }

    #[test]
    fn the_unknown_user_hash_parses_so_it_costs_a_real_check() {
        assert!(PasswordHash::new(UNKNOWN_USER_HASH).is_ok());
        assert!(!verify_password("", UNKNOWN_USER_HASH));
    }

    #[test]
    fn session_keys_are_hashes_not_the_cookie() {
        let key = session_key("abc");
        assert_eq!(key.len(), 64);
        assert!(!key.contains("abc"));
    }
}
