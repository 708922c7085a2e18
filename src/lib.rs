//! bindbridge: a DNS-hosting bridge in front of BIND9.
//!
//! The pipeline: [`parse`] reads RFC 1035 master files into the [`zone`]
//! model, [`check`] applies the rules `named` enforces when it loads a
//! primary zone, and [`render`] writes the canonical zone file through
//! `templates/zone.tera`. [`compile`] is parse + check + render, the
//! offline command.

#![warn(missing_docs)]

pub mod api;
pub mod atomic;
pub mod bind;
pub mod check;
pub mod cli;
pub mod commands;
pub mod compile;
pub mod config;
pub mod deploy;
pub mod dev;
pub mod dns;
pub mod import;
pub mod metrics;
pub mod parse;
pub mod render;
pub mod source;
pub mod store;
pub mod systemd;
pub mod web;
pub mod zone;
