// When a connection's path counts as lost: ICE says `disconnected` after a
// few lost checks, and a few lost checks also happen on a healthy path with
// loss; one that stays so this long has lost its path (a network change),
// and the call and segment links restart ICE then.

/** How long ICE may say `disconnected` before a link restarts it, ms. */
export const PATH_LOSS_GRACE_MS = 1_000;
