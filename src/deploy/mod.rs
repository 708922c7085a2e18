//! The deploy worker: zones from the store to named, proved served.

pub mod files;
pub mod named;
mod worker;

pub use worker::Deployer;
