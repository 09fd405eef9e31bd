//! The command line's larger commands, one module each.

pub mod rulefile;
pub mod stream;
pub mod suite;
