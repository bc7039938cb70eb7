//! Keeping a data directory safe: the lock a server holds on it, backups
//! (on demand and on a schedule) and restores, checks with their repairs,
//! a one-screen status, and files private to their owner.

pub mod backup;
pub mod check;
pub mod lock;
pub mod private;
pub mod status;
