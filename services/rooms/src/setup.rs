//! How a room is set up when it is created: what the store keeps of it and
//! the room is built from.

/// How a room is set up when it is created.
#[derive(Debug, Clone)]
pub struct RoomSetup {
    pub id: String,
    pub movie: String,
    pub duration_ms: f64,
    /// Checked with `PasswordHash::matches`; `None`: open to anyone with the link.
    pub password: Option<crate::password::PasswordHash>,
}
