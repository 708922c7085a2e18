//! The deploy worker: zones from the store to named, proved served.

pub mod files;
pub mod named;
mod watch;
mod worker;

pub use watch::watch_database;
pub use worker::Deployer;
