//! opsrun facade
