//! Differential tests: the real keepalived 2.2.7 / haproxy 2.6 and Pharos read the same
//! fixture and must give the same verdict (exit status of `keepalived -t` / `haproxy -c`).
//!
//! Needs root (network namespaces) and the real programs; `compat-tests/run-all.sh`
//! installs them and runs this suite. Owns nothing under `src/`: it only runs binaries.

mod differential;
mod fixture;
mod netns;
mod process;
