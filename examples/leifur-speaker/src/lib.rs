//! Leifur speaker.

pub mod election;
pub mod packet;
