//! placeholder
mod yaml;
