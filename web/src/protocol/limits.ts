// Generated from services/protocol/src/{room,tracker}.rs. Do not edit.

export const MAX_NAME_CHARS = 32;
export const MAX_CHAT_CHARS = 500;
export const MAX_SIGNAL_BYTES = 32768;
export const MAX_VIDEO_SENDERS = 4;
export const MAX_ORIGIN_FETCHES = 16;
export const MAX_LANES = 3;
