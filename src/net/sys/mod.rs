//! What the operating system says: interfaces, routes, neighbours, capabilities, hosts file.

pub mod hosts_file;
pub mod iface_watch;
pub mod neigh;
pub mod neigh6;
pub mod netinfo;
pub mod packet_filter;
pub mod privilege;
pub mod resolvers;
