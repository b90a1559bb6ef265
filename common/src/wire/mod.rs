//! `--wire`: the TCP segments of the program's own connections, as they cross `lo`.
//!
//! [`packet`] reads the headers of a captured frame by hand; [`tcpdump`] prints a
//! segment as tcpdump does.

pub mod packet;
pub mod tcpdump;
