//! The deploy worker: zones from the store to named, proved served.

mod catalog;
pub mod files;
pub mod named;
mod plan;
mod secondaries;
mod sources;
mod watch;
mod worker;

pub use secondaries::SecondaryWatch;
pub use sources::watch_sources;
pub use watch::watch_database;
pub use worker::Deployer;
