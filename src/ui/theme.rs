//! Colours, and their absence: one [`Theme`] for every screen of the dashboard.
//!
//! - `dark` (the default): the colours for a dark terminal background.
//! - `light`: darker colours that stay readable on a white or light grey background (no
//!   yellow, cyan or grey text, which vanish there).
//! - `mono`: no colour at all, for light backgrounds in sunlight, monochrome terminals and
//!   screen readers. Every state on screen already carries a symbol and a word (`▲ up`,
//!   `▼ down`, `open`, `filtered`, `✖` critical...), so nothing is lost; emphasis is bold, the
//!   selection reversed.
//!
//! With `NO_COLOR` set (to anything but the empty string, as <https://no-color.org> says) the
//! theme is mono unless the command line or the config file names one.

use ratatui::style::{Color, Modifier, Style};

use super::state::{Health, LogKind};

/// Which set of colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    Dark,
    Light,
    Mono,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub palette: Palette,
}

/// The roles a colour plays; each palette maps them to a colour (or to none).
#[derive(Debug, Clone, Copy)]
enum Role {
    Good,
    Bad,
    Warn,
    Dim,
    Accent,
    Heading,
}

impl Theme {
    pub const DARK: Theme = Theme {
        palette: Palette::Dark,
    };
    pub const LIGHT: Theme = Theme {
        palette: Palette::Light,
    };
    pub const MONO: Theme = Theme {
        palette: Palette::Mono,
    };
    /// The default colours (dark).
    pub const COLOR: Theme = Theme::DARK;

    /// The theme the environment asks for when neither the command line nor the config
    /// file names one: mono under `NO_COLOR`, else dark.
    pub fn from_env() -> Theme {
        Theme::choose(None, std::env::var_os("NO_COLOR"))
    }

    /// The theme named (command line over config file), else the one `no_color` (the
    /// `NO_COLOR` variable's value) asks for. Pure, for tests.
    pub fn choose(named: Option<Palette>, no_color: Option<std::ffi::OsString>) -> Theme {
        let palette = named.unwrap_or(if no_color.is_some_and(|v| !v.is_empty()) {
            Palette::Mono
        } else {
            Palette::Dark
        });
        Theme { palette }
    }

    /// Whether any colour is drawn.
    pub fn color(&self) -> bool {
        self.palette != Palette::Mono
    }

    fn colour(&self, role: Role) -> Option<Color> {
        match self.palette {
            Palette::Mono => None,
            Palette::Dark => Some(match role {
                Role::Good => Color::Green,
                Role::Bad => Color::Red,
                Role::Warn => Color::Yellow,
                Role::Dim => Color::DarkGray,
                Role::Accent => Color::Cyan,
                Role::Heading => Color::Yellow,
            }),
            // ANSI's dark shades: each stays readable on a white background.
            Palette::Light => Some(match role {
                Role::Good => Color::Green,
                Role::Bad => Color::Red,
                Role::Warn => Color::Magenta,
                Role::Dim => Color::Indexed(240),
                Role::Accent => Color::Blue,
                Role::Heading => Color::Blue,
            }),
        }
    }

    fn fg(&self, role: Role) -> Style {
        match self.colour(role) {
            Some(c) => Style::new().fg(c),
            None => Style::new(),
        }
    }

    pub fn health(&self, h: Health) -> Style {
        match h {
            Health::Ok => self.fg(Role::Good),
            Health::Degraded => self.fg(Role::Warn).add_modifier(Modifier::BOLD),
            Health::Down => self.fg(Role::Bad).add_modifier(Modifier::BOLD),
            Health::Unknown => self.fg(Role::Dim),
        }
    }

    pub fn up(&self) -> Style {
        self.fg(Role::Good)
    }

    pub fn down(&self) -> Style {
        self.fg(Role::Bad)
    }

    pub fn dim(&self) -> Style {
        self.fg(Role::Dim)
    }

    pub fn accent(&self) -> Style {
        self.fg(Role::Accent)
    }

    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn header_row(&self) -> Style {
        self.fg(Role::Heading).add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn key(&self) -> Style {
        self.fg(Role::Accent).add_modifier(Modifier::BOLD)
    }

    pub fn log(&self, k: LogKind) -> Style {
        match k {
            LogKind::Up => self.up(),
            LogKind::Down => self.down().add_modifier(Modifier::BOLD),
            LogKind::Info => Style::new(),
            LogKind::Warn => self.fg(Role::Warn),
            LogKind::Error => self.fg(Role::Bad),
        }
    }

    pub fn port_open(&self) -> Style {
        self.fg(Role::Good)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    /// no-color.org: a non-empty NO_COLOR means no colour, unless the user names a theme.
    #[test]
    fn no_color_picks_mono_unless_a_theme_is_named() {
        let set = || Some(OsString::from("1"));
        assert_eq!(Theme::choose(None, None), Theme::DARK);
        assert_eq!(Theme::choose(None, Some(OsString::new())), Theme::DARK);
        assert_eq!(Theme::choose(None, set()), Theme::MONO);
        assert_eq!(Theme::choose(Some(Palette::Light), set()), Theme::LIGHT);
        assert_eq!(Theme::choose(Some(Palette::Dark), set()), Theme::DARK);
    }
}
