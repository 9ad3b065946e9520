//! A content-addressed object store with an SQLite index. Depends on nothing of cargo-dist's.
