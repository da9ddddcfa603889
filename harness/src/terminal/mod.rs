//! What a person sees in the terminal: progress while running, a table at the end.

pub mod compare;
pub mod conversation;
pub mod end_of_run;
pub mod progress;
pub mod roofline;
pub mod scaling;
pub mod search;
