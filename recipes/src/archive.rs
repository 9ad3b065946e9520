//! Deterministic archive writers (tar.xz, tar.gz, tar.zst, zip), checksums and source tarballs.
