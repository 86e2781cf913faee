//! `netdx inventory`: [`InventoryArgs`] -> calls on [`Inventory`]; exit 0, or 2 on trouble
//! (an unknown device, a damaged inventory, a file that cannot be written).
//!
//! Listing never creates the inventory: looking at an inventory that does not exist yet shows
//! an empty one and leaves no file behind.

use std::path::Path;
use std::process::ExitCode;

use crate::cli::{InventoryArgs, InventoryCommand, InventoryFormat, InventoryListArgs};
use crate::store::inventory::{self, Inventory, InventoryError, ListFormat};

pub fn run(args: InventoryArgs) -> ExitCode {
    let result = match args.command {
        None => list(&args.list),
        Some(InventoryCommand::List(l)) => list(&l),
        Some(InventoryCommand::Label { device, text }) => {
            change(&device, |inv| inv.set_label(&device, &text)).map(|()| {
                if text.trim().is_empty() {
                    println!("{device}: label removed");
                } else {
                    println!("{device}: labelled \"{}\"", text.trim());
                }
            })
        }
        Some(InventoryCommand::Note { device, text }) => {
            change(&device, |inv| inv.set_note(&device, &text)).map(|()| {
                println!(
                    "{device}: note {}",
                    if text.trim().is_empty() {
                        "removed"
                    } else {
                        "kept"
                    }
                );
            })
        }
        Some(InventoryCommand::Forget { device }) => {
            change(&device, |inv| inv.forget(&device)).map(|()| println!("{device}: forgotten"))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => super::trouble(e),
    }
}

/// The format asked for, else the one `-o`'s extension names, else text.
fn format(args: &InventoryListArgs) -> ListFormat {
    let by_ext = || {
        let ext = args
            .output
            .as_deref()?
            .extension()?
            .to_str()?
            .to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(ListFormat::Json),
            "csv" => Some(ListFormat::Csv),
            _ => None,
        }
    };
    match args.format {
        Some(InventoryFormat::Text) => ListFormat::Text,
        Some(InventoryFormat::Json) => ListFormat::Json,
        Some(InventoryFormat::Csv) => ListFormat::Csv,
        None => by_ext().unwrap_or(ListFormat::Text),
    }
}

fn list(args: &InventoryListArgs) -> Result<(), String> {
    let path = inventory::default_path().map_err(|e| e.to_string())?;
    let devices = match Inventory::open_if_exists(&path).map_err(|e| e.to_string())? {
        Some(inv) => inv.list().map_err(|e| e.to_string())?,
        None => Vec::new(),
    };
    let text = inventory::render(&devices, format(args));
    match &args.output {
        None => {
            print!("{text}");
            Ok(())
        }
        Some(out) => {
            write_atomic(out, text.as_bytes())?;
            eprintln!("{} devices written to {}", devices.len(), out.display());
            Ok(())
        }
    }
}

/// Write through a temporary file in the same directory and rename it, so a reader never
/// sees half a list.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| format!("cannot write '{}': {e}", path.display());
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

/// Open the inventory (never creating one just to find the device is unknown) and apply `f`.
fn change(
    device: &str,
    f: impl FnOnce(&mut Inventory) -> Result<(), InventoryError>,
) -> Result<(), String> {
    let path = inventory::default_path().map_err(|e| e.to_string())?;
    let Some(mut inv) = Inventory::open_if_exists(&path).map_err(|e| e.to_string())? else {
        return Err(InventoryError::UnknownDevice(device.to_string()).to_string());
    };
    f(&mut inv).map_err(|e| e.to_string())
}
