//! Colours, and their absence. With `NO_COLOR` set (to anything but the empty string, as
//! <https://no-color.org> says) no style carries a colour; the screen still reads because
//! every state also has a symbol and a word, and the selection is shown reversed.

use ratatui::style::{Color, Modifier, Style};

use super::state::{Health, LogKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// The theme the environment asks for.
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub const MONO: Theme = Theme { color: false };
    pub const COLOR: Theme = Theme { color: true };

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn health(&self, h: Health) -> Style {
        match h {
            Health::Ok => self.fg(Color::Green),
            Health::Degraded => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Health::Down => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Health::Unknown => self.fg(Color::DarkGray),
        }
    }

    pub fn up(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn down(&self) -> Style {
        self.fg(Color::Red)
    }

    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn header_row(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn log(&self, k: LogKind) -> Style {
        match k {
            LogKind::Up => self.up(),
            LogKind::Down => self.down().add_modifier(Modifier::BOLD),
            LogKind::Info => Style::new(),
            LogKind::Warn => self.fg(Color::Yellow),
            LogKind::Error => self.fg(Color::Red),
        }
    }

    pub fn port_open(&self) -> Style {
        self.fg(Color::Green)
    }
}
