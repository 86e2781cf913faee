//! The real terminal: raw mode, alternate screen, mouse capture; restoring all of it on every
//! way out (normal return, error, panic, signal); and the thread that reads key, mouse and
//! resize events.
//!
//! Input is read by a dedicated thread blocked in `crossterm::event::read` (no polling, no
//! wake-ups while idle) and handed to the async loop over a channel; this is the shape of
//! ratatui's event-driven template without needing crossterm's `event-stream` feature.

use std::io::{self, Stdout, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture, Event};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use tokio::sync::mpsc;

pub type RealTerminal = Terminal<CrosstermBackend<Stdout>>;

/// Set while the terminal is in dashboard mode, so restoring twice (guard and panic hook)
/// writes the escape sequences only once.
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Switch the terminal to dashboard mode and install a panic hook that switches it back
/// before the panic message is printed (otherwise the message is lost on the alternate
/// screen and the shell is left in raw mode).
pub fn setup() -> io::Result<RealTerminal> {
    install_panic_hook();
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut out = io::stdout();
    if let Err(e) = execute!(out, EnterAlternateScreen, EnableMouseCapture) {
        restore();
        return Err(e);
    }
    let terminal = Terminal::new(CrosstermBackend::new(io::stdout()));
    match terminal {
        Ok(mut t) => {
            t.hide_cursor()?;
            t.clear()?;
            Ok(t)
        }
        Err(e) => {
            restore();
            Err(e)
        }
    }
}

/// Leave dashboard mode: mouse capture off, main screen back, cursor shown, raw mode off.
/// Safe to call more than once and from a panic hook.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = out.flush();
    let _ = disable_raw_mode();
}

fn install_panic_hook() {
    static INSTALLED: AtomicBool = AtomicBool::new(false);
    if INSTALLED.swap(true, Ordering::SeqCst) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}

/// Restores the terminal when dropped, so an early `?` return cannot leave it raw.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Read terminal events on a thread of their own and send them to the loop. The thread ends
/// when the loop drops the receiver (at the next event) or when reading fails; at exit it is
/// simply abandoned, blocked in `read`.
pub fn spawn_input_reader() -> io::Result<mpsc::Receiver<io::Result<Event>>> {
    let (tx, rx) = mpsc::channel(256);
    std::thread::Builder::new()
        .name("netdx-input".into())
        .spawn(move || {
            loop {
                let ev = crossterm::event::read();
                let failed = ev.is_err();
                if tx.blocking_send(ev).is_err() || failed {
                    break;
                }
            }
        })?;
    Ok(rx)
}
