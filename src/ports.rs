//! Port specifications and the port/service table shipped in `assets/`.
//! OWNER: targets helper.

/// Well-known service name of a TCP port, from the table in `assets/`.
pub fn service_name(_port: u16) -> Option<&'static str> {
    None
}
