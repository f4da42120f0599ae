//! In-crate tests (filled below).
