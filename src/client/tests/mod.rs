//! Unit tests of the client core.
