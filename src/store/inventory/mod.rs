//! The device inventory: every device netdx has seen on the networks it scanned, kept between
//! runs in an SQLite database (`<data dir>/inventory.db`), so a scan can say what changed
//! since it was last seen (new device, gone, MAC changed for an address, new name or type,
//! port opened or closed, certificate replaced).
//!
//! A device is keyed by its MAC when it was seen on the LAN, by its address when it was seen
//! off-link (no MAC). A phone's randomised (locally administered) MAC is attached to the
//! device that already has another randomised MAC and the same name, so a privacy address is
//! not "a new device" every day.
//!
//! Safety of the file: each scan is recorded in one transaction (WAL mode, `synchronous =
//! FULL`), so a kill at any instant leaves the previous or the new state; a new database is
//! built in a temporary file and renamed into place; a damaged one (not a database, failing
//! `PRAGMA quick_check`, another program's, or newer than this build) is refused with an
//! error naming the file, and is never recreated or modified.

mod list;
mod schema;
mod update;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::core::model::MacAddr;

pub use list::{ListFormat, render};
pub use update::Update;

/// The inventory's file name inside the data directory.
pub const FILE_NAME: &str = "inventory.db";

/// The advice every "damaged" message ends with.
const MOVE_AWAY: &str = "move it away to start a new inventory";

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// No data directory (the message names the variables to set).
    #[error(
        "cannot find your data directory for the inventory: set HOME, XDG_DATA_HOME or NETDX_DATA_DIR"
    )]
    NoDataDir,
    #[error("inventory '{path}': {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file cannot be trusted. It is left exactly as it is.
    #[error("inventory '{}' is damaged: {why}; {MOVE_AWAY}", path.display())]
    Damaged { path: PathBuf, why: String },
    #[error(
        "inventory '{}' was written by a newer netdx (schema {found}, this one knows {known}); use that netdx, or {MOVE_AWAY}", path.display()
    )]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
    #[error("inventory '{}': cannot update its schema: {message}", path.display())]
    Migration { path: PathBuf, message: String },
    #[error("inventory '{}': {source}", path.display())]
    Sql {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    /// `label`, `note` or `forget` named no known device.
    #[error("no device {0} in the inventory (see `netdx inventory` for the known ones)")]
    UnknownDevice(String),
    /// The device key is neither a MAC nor an address.
    #[error("'{0}' is neither a MAC address (00:11:22:33:44:55) nor an IP address")]
    BadKey(String),
}

/// A MAC of a device, with when it was seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeenMac {
    pub mac: MacAddr,
    pub first_seen: String,
    pub last_seen: String,
}

/// An address a device answered on, with when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeenAddress {
    pub ip: IpAddr,
    pub first_seen: String,
    pub last_seen: String,
}

/// The name a protocol gave: `ptr` (reverse DNS), `mdns`, `netbios`, `ssdp`, `snmp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeenName {
    pub protocol: String,
    pub name: String,
    pub first_seen: String,
    pub last_seen: String,
}

/// An open port as last seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Service {
    pub port: u16,
    pub protocol: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The TLS certificate's subject, names, issuer and end date, when it spoke TLS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
}

/// One device as the inventory knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    /// The address it was last seen at.
    pub address: IpAddr,
    /// Every address it was seen at, the current one first.
    pub addresses: Vec<SeenAddress>,
    /// Empty for a device seen only off-link.
    pub macs: Vec<SeenMac>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub device_type: Option<String>,
    pub names: Vec<SeenName>,
    pub services: Vec<Service>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub first_seen: String,
    pub last_seen: String,
    /// Scans in a row that covered its address without an answer.
    pub missed: u32,
}

impl Device {
    /// The name a table shows: NetBIOS, mDNS, SNMP, SSDP, then reverse DNS (the order of
    /// [`crate::core::names::HostNames::best_name`], which people recognise first).
    pub fn best_name(&self) -> Option<&str> {
        ["netbios", "mdns", "snmp", "ssdp", "ptr"]
            .iter()
            .find_map(|p| self.names.iter().find(|n| n.protocol == *p))
            .map(|n| n.name.as_str())
    }
}

/// An open inventory.
pub struct Inventory {
    conn: Connection,
    path: PathBuf,
}

/// Where the inventory lives for this user: `<data dir>/inventory.db` (see
/// [`crate::store::history::data_dir_from`]).
pub fn default_path() -> Result<PathBuf, InventoryError> {
    crate::store::history::data_dir_from(
        std::env::var_os("NETDX_DATA_DIR"),
        std::env::var_os("XDG_DATA_HOME"),
        crate::store::history::home(),
    )
    .map(|d| d.join(FILE_NAME))
    .ok_or(InventoryError::NoDataDir)
}

impl Inventory {
    /// Open the inventory at `path`, creating it (and its directory, `0700`) when there is no
    /// file. An existing file that cannot be trusted is an error and is left untouched.
    pub fn open(path: &Path) -> Result<Inventory, InventoryError> {
        let conn = match std::fs::symlink_metadata(path) {
            Ok(_) => schema::open_existing(path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => schema::create(path)?,
            Err(source) => {
                return Err(InventoryError::Io {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Ok(Inventory {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Open this user's inventory ([`default_path`]).
    pub fn open_default() -> Result<Inventory, InventoryError> {
        Inventory::open(&default_path()?)
    }

    /// Open the inventory at `path` only if it exists (for listing: looking must not create).
    pub fn open_if_exists(path: &Path) -> Result<Option<Inventory>, InventoryError> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => Inventory::open(path).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(InventoryError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sql(&self, source: rusqlite::Error) -> InventoryError {
        InventoryError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// The device a user means by `key`: a MAC it was seen with, or an address (the device
    /// named by it off-link, else the one last seen there).
    fn find(&self, key: &str) -> Result<i64, InventoryError> {
        let key = key.trim();
        let found = if let Ok(mac) = key.parse::<MacAddr>() {
            self.conn
                .query_row(
                    "SELECT device_id FROM macs WHERE mac = ?1",
                    [mac.to_string()],
                    |r| r.get(0),
                )
                .optional()
        } else if let Ok(ip) = key.parse::<IpAddr>() {
            self.conn
                .query_row(
                    "SELECT id FROM devices WHERE ip_key = ?1 OR addr = ?1
                     ORDER BY ip_key IS NULL, last_scan DESC LIMIT 1",
                    [ip.to_string()],
                    |r| r.get(0),
                )
                .optional()
                .and_then(|d| match d {
                    Some(d) => Ok(Some(d)),
                    None => self
                        .conn
                        .query_row(
                            "SELECT device_id FROM addresses WHERE ip = ?1
                             ORDER BY last_scan DESC LIMIT 1",
                            [ip.to_string()],
                            |r| r.get(0),
                        )
                        .optional(),
                })
        } else {
            return Err(InventoryError::BadKey(key.to_string()));
        };
        found
            .map_err(|e| self.sql(e))?
            .ok_or_else(|| InventoryError::UnknownDevice(key.to_string()))
    }

    fn set_text(&mut self, key: &str, column: &str, text: &str) -> Result<(), InventoryError> {
        let id = self.find(key)?;
        let text = crate::core::sanitize::clean(text.trim());
        let value = (!text.is_empty()).then_some(text);
        // `column` is one of two fixed names, never user input.
        let sql = format!("UPDATE devices SET {column} = ?1 WHERE id = ?2");
        self.conn
            .execute(&sql, params![value, id])
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// Give the device named by `key` (MAC or address) a label; an empty text removes it.
    pub fn set_label(&mut self, key: &str, text: &str) -> Result<(), InventoryError> {
        self.set_text(key, "label", text)
    }

    /// Attach a free-text note to the device named by `key`; an empty text removes it.
    pub fn set_note(&mut self, key: &str, text: &str) -> Result<(), InventoryError> {
        self.set_text(key, "note", text)
    }

    /// Remove the device named by `key` and everything known about it.
    pub fn forget(&mut self, key: &str) -> Result<(), InventoryError> {
        let id = self.find(key)?;
        self.conn
            .execute("DELETE FROM devices WHERE id = ?1", [id])
            .map_err(|e| self.sql(e))?;
        Ok(())
    }

    /// How many devices it holds.
    pub fn count(&self) -> Result<usize, InventoryError> {
        self.conn
            .query_row("SELECT count(*) FROM devices", [], |r| r.get::<_, i64>(0))
            .map(|n| n.max(0) as usize)
            .map_err(|e| self.sql(e))
    }
}

#[cfg(test)]
mod tests;
