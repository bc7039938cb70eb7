//! Keeping a data directory safe: the lock a server holds on it, backups
//! (on demand and on a schedule) and restores, checks with their repairs,
//! and a one-screen status.

pub mod backup;
pub mod check;
pub mod lock;
pub mod status;
