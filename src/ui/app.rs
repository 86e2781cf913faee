//! The dashboard's application state around [`Dashboard`]: the table view, the mode (normal,
//! help, a prompt), the transient status message and the keys. Key and mouse handling is pure:
//! it changes this struct and returns a [`Command`] for the event loop to carry out (start a
//! probe job, export, quit). Nothing here talks to the network or the terminal.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::core::clock::LocalZone;
use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use crate::core::model::RecordType;
use crate::net::sys::netinfo::Suggestion;

use super::diagnose_view::{DiagnoseTarget, DiagnoseView};
use super::layout;
pub use super::layout::{Pane, View};
use super::prompt::{Edit, LineEditor};
use super::state::{Counts, Dashboard, Layers, LogKind, Timestamp};
use super::table::TableView;
use super::theme::Theme;

/// What the event loop must do after a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Quit,
    /// Scan these target specs (validated): discovery, the user's ports and DNS queries.
    Scan {
        targets: Vec<String>,
    },
    PortScan {
        ip: IpAddr,
        spec: String,
    },
    Resolve {
        name: String,
        rtype: RecordType,
    },
    Export {
        path: PathBuf,
    },
    /// Start diagnosis rounds at the dashboard's interval (replacing any running ones): of
    /// this machine, and of `target` when given.
    StartDiagnosis {
        target: Option<DiagnoseTarget>,
    },
    /// Stop the diagnosis rounds (`x` in the Diagnose view).
    StopDiagnosis,
    /// Run the LAN safety checks (DHCP servers, duplicate IPs, gateway claims, IPv6 routers,
    /// switch port) once, on the interface of the default route.
    CheckLan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromptKind {
    /// Live filter; `before` is restored on Esc.
    Filter {
        before: String,
    },
    Targets,
    Ports {
        ip: IpAddr,
    },
    Resolve,
    Export,
}

impl PromptKind {
    pub fn label(&self) -> String {
        match self {
            PromptKind::Filter { .. } => "Filter (text, up, down, :PORT)".into(),
            PromptKind::Targets => "Add targets (10.0.0.0/24 10.0.1.5-20 host.example)".into(),
            PromptKind::Ports { ip } => {
                format!("Ports to scan on {ip} (22,80  1-1024  top100  all)")
            }
            PromptKind::Resolve => {
                "Resolve NAME[:TYPE] (A AAAA MX TXT CNAME NS SOA PTR SRV)".into()
            }
            PromptKind::Export => "Export to (.json; other formats by extension)".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub editor: LineEditor,
    /// Why the last submission was refused; the prompt stays open so it can be fixed.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Help,
    Prompt(Prompt),
}

impl Pane {
    fn next(self) -> Pane {
        match self {
            Pane::Detail => Pane::Dns,
            Pane::Dns => Pane::Events,
            Pane::Events => Pane::Detail,
        }
    }
}

/// Options that do not change while the dashboard runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub interval: Duration,
    /// The port spec given on the command line, shown in the header.
    pub ports: Option<String>,
    pub theme: Theme,
    /// Offset used to show times (UTC unless the local offset could be determined).
    pub zone: LocalZone,
    /// ICMP allowed (`--no-ping` not given).
    pub ping: bool,
    /// Ring the terminal bell on a warning or critical alert (`--bell`).
    pub bell: bool,
    /// Record completed sweeps in the device inventory.
    pub inventory: bool,
    /// Run the LAN safety checks once at start (`--auto`, unless `--no-lan`).
    pub lan_at_start: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            interval: Duration::from_secs(2),
            ports: None,
            theme: Theme::COLOR,
            zone: LocalZone::utc(),
            ping: true,
            bell: false,
            inventory: false,
            lan_at_start: false,
        }
    }
}

pub struct App {
    pub dash: Dashboard,
    pub table: TableView,
    pub mode: Mode,
    pub view: View,
    /// The Diagnose view's state: the rounds of the current visit (reset on every opening).
    pub diagnose: DiagnoseView,
    pub pane: Pane,
    /// A line for the footer (export path, refused key), with its kind for the colour.
    pub status: Option<(LogKind, String)>,
    pub settings: Settings,
    pub suggestions: Vec<Suggestion>,
    /// Last known terminal size, for paging and mouse hit-testing.
    pub size: Rect,
    /// The time the frame shows.
    pub now: Timestamp,
    /// Header figures, recomputed when the state's generation moves.
    pub layers: Layers,
    pub counts: Counts,
    cached_generation: Option<u64>,
    last_rebuild: Option<Timestamp>,
}

/// Above this many hosts, derived figures are rebuilt on a timer rather than every frame.
pub const BIG_TABLE: usize = 5_000;
/// How stale the order of a big table may get while data streams in.
pub const REBUILD_EVERY: Duration = Duration::from_millis(500);

impl App {
    pub fn new(dash: Dashboard, settings: Settings, now: Timestamp) -> App {
        let suggestions = dash.context.suggested_targets();
        let layers = dash.layers();
        let counts = dash.counts();
        App {
            dash,
            table: TableView::default(),
            mode: Mode::Normal,
            view: View::Hosts,
            diagnose: DiagnoseView::default(),
            pane: Pane::Detail,
            status: None,
            settings,
            suggestions,
            size: Rect::new(0, 0, 80, 24),
            now,
            layers,
            counts,
            cached_generation: None,
            last_rebuild: None,
        }
    }

    /// Bring derived figures up to date; cheap when nothing changed. Call before drawing.
    ///
    /// The sorted, filtered view and the header figures cost O(hosts) to rebuild. With more
    /// than [`BIG_TABLE`] hosts, while events stream in, they are rebuilt at most every
    /// [`REBUILD_EVERY`] (the visible rows still show live values; only the order and the
    /// membership lag). A new sort or filter is applied at once.
    pub fn prepare(&mut self, now: Timestamp) {
        self.now = now;
        let generation = self.dash.generation;
        let stale = self.cached_generation != Some(generation);
        let due = self.dash.report.hosts.len() <= BIG_TABLE
            || self
                .last_rebuild
                .is_none_or(|t| now - t >= REBUILD_EVERY || now < t);
        if self.table.is_invalid() || (stale && due) {
            self.table.refresh(&self.dash);
        }
        if stale && due {
            self.layers = self.dash.layers();
            self.counts = self.dash.counts();
            self.cached_generation = Some(generation);
            self.last_rebuild = Some(now);
        }
        // Only while the table is on screen: the Diagnose view has no rows to scroll to.
        let rows = self.table_rows();
        if rows > 0 {
            self.table.scroll_into_view(rows);
        }
    }

    /// Rows of hosts the table shows at the current size.
    pub fn table_rows(&self) -> usize {
        layout::layout(self.size, self.view, self.pane, self.dash.started()).table_rows()
    }

    pub fn local_time(&self, t: Timestamp) -> Timestamp {
        self.settings.zone.local(t)
    }

    fn set_status(&mut self, kind: LogKind, text: impl Into<String>) {
        self.status = Some((kind, text.into()));
    }

    /// Handle a key press; returns what the loop must do, if anything.
    pub fn on_key(&mut self, key: KeyEvent) -> Option<Command> {
        if key.kind == KeyEventKind::Release {
            return None;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') && !matches!(self.mode, Mode::Prompt(_)) {
            return Some(Command::Quit);
        }
        match &mut self.mode {
            Mode::Help => {
                // Any key closes the help; q still quits.
                self.mode = Mode::Normal;
                if key.code == KeyCode::Char('q') {
                    return Some(Command::Quit);
                }
                None
            }
            Mode::Prompt(_) => self.on_prompt_key(key),
            Mode::Normal if self.view == View::Diagnose => self.on_diagnose_key(key),
            Mode::Normal if self.view == View::Alerts => self.on_alerts_key(key),
            Mode::Normal => self.on_normal_key(key),
        }
    }

    /// Open the Alerts view: its alerts are seen from now on.
    fn open_alerts(&mut self) {
        self.status = None;
        self.view = View::Alerts;
        self.dash.alerts_unseen = 0;
        self.dash.generation += 1;
    }

    /// Keys in the Alerts view: leave it, run the LAN checks, help, quit.
    fn on_alerts_key(&mut self, key: KeyEvent) -> Option<Command> {
        match key.code {
            KeyCode::Char('q') => Some(Command::Quit),
            KeyCode::Char('?') | KeyCode::F(1) => {
                self.mode = Mode::Help;
                None
            }
            KeyCode::Esc | KeyCode::Char('A') => {
                self.view = View::Hosts;
                None
            }
            KeyCode::Char('L') => {
                self.set_status(LogKind::Info, "LAN checks running (about 6 s)");
                Some(Command::CheckLan)
            }
            _ => None,
        }
    }

    /// Open the Diagnose view. Rounds that kept running since the view was left go on (their
    /// timeline with them); otherwise they start, with a fresh timeline.
    fn open_diagnose(&mut self) -> Option<Command> {
        self.status = None;
        self.view = View::Diagnose;
        if self.diagnose.running {
            return None;
        }
        let target = self.diagnose.target.clone();
        Some(self.restart_diagnose(target))
    }

    /// New rounds with a new question: a fresh timeline (the old one answered another).
    fn restart_diagnose(&mut self, target: Option<DiagnoseTarget>) -> Command {
        self.diagnose = DiagnoseView {
            target: target.clone(),
            running: true,
            ..DiagnoseView::default()
        };
        Command::StartDiagnosis { target }
    }

    /// The host selected in the table as a diagnosis target, with the open ports the scans
    /// found on it (none known: the path and reachability only; 443 and 80, which most LAN
    /// hosts do not serve, would read as an outage).
    fn selected_target(&self) -> Option<DiagnoseTarget> {
        let ip = self.table.selected_ip()?;
        let ports = self
            .dash
            .report
            .hosts
            .get(&ip)
            .map(|h| h.open_ports().map(|p| p.port).take(4).collect())
            .unwrap_or_default();
        Some(DiagnoseTarget { ip, ports })
    }

    /// Keys in the Diagnose view: leave it (the rounds go on), target the selected host or
    /// not, stop the rounds, help, quit. The host table's keys do nothing here (their effect
    /// would be out of sight).
    fn on_diagnose_key(&mut self, key: KeyEvent) -> Option<Command> {
        match key.code {
            KeyCode::Char('q') => Some(Command::Quit),
            KeyCode::Char('?') | KeyCode::F(1) => {
                self.mode = Mode::Help;
                None
            }
            KeyCode::Esc | KeyCode::Char('D') => {
                self.view = View::Hosts;
                if self.diagnose.running {
                    self.set_status(
                        LogKind::Info,
                        "diagnosis goes on in the background: D shows it, x there stops it",
                    );
                }
                None
            }
            KeyCode::Char('t') => {
                let target = if self.diagnose.target.is_some() {
                    None
                } else {
                    match self.selected_target() {
                        Some(t) => Some(t),
                        None => {
                            self.set_status(LogKind::Warn, "no host selected in the table");
                            return None;
                        }
                    }
                };
                self.status = None;
                Some(self.restart_diagnose(target))
            }
            KeyCode::Char('x') => {
                self.status = None;
                self.view = View::Hosts;
                self.diagnose.running = false;
                Some(Command::StopDiagnosis)
            }
            KeyCode::Char(_) | KeyCode::Enter => {
                self.set_status(
                    LogKind::Warn,
                    "Diagnose view: t targets the selected host, x stops, Esc or D returns",
                );
                None
            }
            _ => None,
        }
    }

    fn open_prompt(&mut self, kind: PromptKind, text: &str) {
        self.status = None;
        self.mode = Mode::Prompt(Prompt {
            kind,
            editor: LineEditor::new(text),
            error: None,
        });
    }

    fn on_normal_key(&mut self, key: KeyEvent) -> Option<Command> {
        let rows = self.table_rows();
        let page = rows.saturating_sub(1).max(1) as isize;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('q') => return Some(Command::Quit),
            KeyCode::Char('?') | KeyCode::F(1) => self.mode = Mode::Help,
            KeyCode::Down | KeyCode::Char('j') => self.table.move_by(1, rows),
            KeyCode::Up | KeyCode::Char('k') => self.table.move_by(-1, rows),
            KeyCode::Char('d') if ctrl => self.table.move_by(page / 2, rows),
            KeyCode::Char('u') if ctrl => self.table.move_by(-page / 2, rows),
            KeyCode::PageDown | KeyCode::Char('f') if ctrl || key.code == KeyCode::PageDown => {
                self.table.move_by(page, rows)
            }
            KeyCode::PageUp | KeyCode::Char('b') if ctrl || key.code == KeyCode::PageUp => {
                self.table.move_by(-page, rows)
            }
            KeyCode::Home | KeyCode::Char('g') => self.table.select(0, rows),
            KeyCode::End | KeyCode::Char('G') => self.table.select(usize::MAX, rows),
            KeyCode::Tab => self.pane = self.pane.next(),
            KeyCode::Char('h') => self.table.toggle_silent(),
            KeyCode::Char('s') => {
                let next = self.table.sort.next();
                self.table.sort = next;
                self.table.descending = false;
                self.table.invalidate();
            }
            KeyCode::Char('S') => {
                self.table.descending = !self.table.descending;
                self.table.invalidate();
            }
            KeyCode::Char('/') => {
                let before = self.table.filter.clone();
                self.open_prompt(
                    PromptKind::Filter {
                        before: before.clone(),
                    },
                    &before,
                );
            }
            KeyCode::Esc => {
                if !self.table.filter.is_empty() {
                    self.table.set_filter("");
                }
                self.status = None;
            }
            KeyCode::Char('a') => self.open_prompt(PromptKind::Targets, ""),
            KeyCode::Char('p') => match self.table.selected_ip() {
                Some(ip) => self.open_prompt(PromptKind::Ports { ip }, "top100"),
                None => self.set_status(LogKind::Warn, "no host selected"),
            },
            KeyCode::Char('d') => self.open_prompt(PromptKind::Resolve, ""),
            // Diagnose (`g`, the obvious letter, is "first host" as in less).
            KeyCode::Char('D') => return self.open_diagnose(),
            KeyCode::Char('A') => self.open_alerts(),
            KeyCode::Char('e') => {
                let name = default_export_name(self.local_time(self.now));
                self.open_prompt(PromptKind::Export, &name);
            }
            KeyCode::Char('r') => {
                if self.dash.target_specs.is_empty() {
                    self.set_status(
                        LogKind::Warn,
                        "nothing to rescan yet: Enter starts on the suggested targets",
                    );
                } else if self.dash.sweep_running() {
                    self.set_status(LogKind::Warn, "a scan is already running");
                } else {
                    return Some(Command::Scan {
                        targets: self.dash.target_specs.clone(),
                    });
                }
            }
            KeyCode::Char(' ') => {
                self.dash.paused = !self.dash.paused;
                let (text, kind) = if self.dash.paused {
                    ("monitoring paused (space resumes)", LogKind::Warn)
                } else {
                    ("monitoring resumed", LogKind::Info)
                };
                self.dash.log(self.now, kind, text);
                self.set_status(kind, text);
                self.dash.generation += 1;
            }
            KeyCode::Enter if !self.dash.started() => {
                if self.suggestions.is_empty() {
                    self.set_status(
                        LogKind::Warn,
                        "no suggested targets (no network found): press a to type some",
                    );
                } else {
                    return Some(Command::Scan {
                        targets: self.suggestions.iter().map(|s| s.spec.clone()).collect(),
                    });
                }
            }
            _ => {}
        }
        None
    }

    fn on_prompt_key(&mut self, key: KeyEvent) -> Option<Command> {
        let Mode::Prompt(prompt) = &mut self.mode else {
            return None;
        };
        let edit = prompt.editor.key(key);
        let text = prompt.editor.text();
        let kind = prompt.kind.clone();
        match edit {
            Edit::Cancel => {
                if let PromptKind::Filter { before } = &kind {
                    self.table.set_filter(before);
                }
                self.mode = Mode::Normal;
                None
            }
            Edit::Edited => {
                prompt.error = None;
                if let PromptKind::Filter { .. } = kind {
                    self.table.set_filter(&text);
                    self.table.select(0, self.table_rows());
                }
                None
            }
            Edit::Submit => match validate(&kind, &text) {
                Ok(cmd) => {
                    self.mode = Mode::Normal;
                    cmd
                }
                Err(e) => {
                    if let Mode::Prompt(p) = &mut self.mode {
                        p.error = Some(e);
                    }
                    None
                }
            },
        }
    }

    /// Mouse: a click on a row selects it, a click on a column title sorts by it, the
    /// wheel scrolls.
    pub fn on_mouse(&mut self, m: MouseEvent) {
        if self.view != View::Hosts {
            return;
        }
        let areas = layout::layout(self.size, self.view, self.pane, self.dash.started());
        let rows = areas.table_rows();
        match m.kind {
            MouseEventKind::ScrollDown => self.table.move_by(3, rows),
            MouseEventKind::ScrollUp => self.table.move_by(-3, rows),
            MouseEventKind::Down(MouseButton::Left) => {
                let Some(table) = areas.table else { return };
                let p = Position::new(m.column, m.row);
                if !table.contains(p) {
                    return;
                }
                // Border, then the column titles, then rows.
                let title_row = table.y + 1;
                if m.row == title_row {
                    if let Some(col) = layout::column_at(&self.table, &self.dash, table, m.column) {
                        self.table.sort_by(col);
                    }
                } else if m.row > title_row && m.row < table.bottom().saturating_sub(1) {
                    let index = self.table.offset + usize::from(m.row - title_row - 1);
                    if index < self.table.order.len() {
                        self.table.select(index, rows);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Check what was typed; a refused input stays in the prompt with the reason.
fn validate(kind: &PromptKind, text: &str) -> Result<Option<Command>, String> {
    let text = text.trim();
    match kind {
        PromptKind::Filter { .. } => Ok(None),
        PromptKind::Targets => {
            let specs: Vec<String> = text.split_whitespace().map(str::to_string).collect();
            if specs.is_empty() {
                return Err("type at least one target".into());
            }
            crate::core::target::TargetSet::parse(&specs, &[], false).map_err(|e| e.to_string())?;
            Ok(Some(Command::Scan { targets: specs }))
        }
        PromptKind::Ports { ip } => {
            let spec = if text.is_empty() { "top100" } else { text };
            crate::core::ports::parse_ports(spec).map_err(|e| e.to_string())?;
            Ok(Some(Command::PortScan {
                ip: *ip,
                spec: spec.to_string(),
            }))
        }
        PromptKind::Resolve => {
            let (name, rtype) = crate::net::dns::parse_query(text).map_err(|e| e.to_string())?;
            Ok(Some(Command::Resolve { name, rtype }))
        }
        PromptKind::Export => {
            if text.is_empty() {
                return Err("type a file name".into());
            }
            let path = PathBuf::from(text);
            if crate::output::Format::from_path(&path).is_none() {
                return Err(format!(
                    "cannot tell the format of '{text}': use .json (or .csv .md .html .xml)"
                ));
            }
            Ok(Some(Command::Export { path }))
        }
    }
}

/// `netdx-20250114-093012.json`: sorts by time, never overwrites an earlier export.
pub fn default_export_name(t: Timestamp) -> String {
    format!(
        "netdx-{:04}{:02}{:02}-{:02}{:02}{:02}.json",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::ScanParameters;
    use crate::net::sys::netinfo::LocalContext;
    use time::OffsetDateTime;

    fn app() -> App {
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        App::new(
            Dashboard::new(LocalContext::default(), ScanParameters::default()),
            Settings::default(),
            now,
        )
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn type_str(a: &mut App, s: &str) -> Option<Command> {
        let mut last = None;
        for c in s.chars() {
            last = a.on_key(key(KeyCode::Char(c)));
        }
        last
    }

    #[test]
    fn add_targets_prompt_validates_and_keeps_bad_input() {
        let mut a = app();
        assert_eq!(a.on_key(key(KeyCode::Char('a'))), None);
        type_str(&mut a, "10.0.0.0/33");
        assert_eq!(a.on_key(key(KeyCode::Enter)), None);
        let Mode::Prompt(p) = &a.mode else {
            panic!("prompt closed")
        };
        assert!(p.error.as_deref().unwrap().contains("10.0.0.0/33"), "{p:?}");
        for _ in 0..2 {
            a.on_key(key(KeyCode::Backspace));
        }
        type_str(&mut a, "24 10.0.1.5");
        assert_eq!(
            a.on_key(key(KeyCode::Enter)),
            Some(Command::Scan {
                targets: vec!["10.0.0.0/24".into(), "10.0.1.5".into()]
            })
        );
        assert_eq!(a.mode, Mode::Normal);
    }

    #[test]
    fn esc_cancels_filter_and_restores_previous() {
        let mut a = app();
        a.table.set_filter("web");
        a.on_key(key(KeyCode::Char('/')));
        type_str(&mut a, "x");
        assert_eq!(a.table.filter, "webx");
        a.on_key(key(KeyCode::Esc));
        assert_eq!(a.table.filter, "web");
        assert_eq!(a.mode, Mode::Normal);
    }

    #[test]
    fn quit_keys_and_help() {
        let mut a = app();
        assert_eq!(a.on_key(key(KeyCode::Char('?'))), None);
        assert_eq!(a.mode, Mode::Help);
        assert_eq!(a.on_key(key(KeyCode::Char('x'))), None);
        assert_eq!(a.mode, Mode::Normal);
        assert_eq!(a.on_key(key(KeyCode::Char('q'))), Some(Command::Quit));
        assert_eq!(
            a.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Command::Quit)
        );
    }

    #[test]
    fn diagnose_key_opens_the_view_and_esc_or_d_leaves_it_running() {
        let mut a = app();
        assert_eq!(
            a.on_key(key(KeyCode::Char('D'))),
            Some(Command::StartDiagnosis { target: None })
        );
        assert_eq!(a.view, View::Diagnose);
        assert!(a.diagnose.running);
        assert_eq!(a.mode, Mode::Normal);
        // The host table's keys are inert here, with a hint; help opens over the view and
        // closing it stays in the view.
        assert_eq!(a.on_key(key(KeyCode::Char('a'))), None);
        assert_eq!(a.mode, Mode::Normal);
        assert!(
            a.status.as_ref().unwrap().1.contains("Esc or D"),
            "{:?}",
            a.status
        );
        assert_eq!(a.on_key(key(KeyCode::Char('?'))), None);
        assert_eq!(a.mode, Mode::Help);
        assert_eq!(a.on_key(key(KeyCode::Esc)), None);
        assert_eq!((a.mode.clone(), a.view), (Mode::Normal, View::Diagnose));
        // Leaving keeps the rounds (and the timeline) going, and says so.
        a.diagnose.rounds = 3;
        assert_eq!(a.on_key(key(KeyCode::Esc)), None);
        assert_eq!(a.view, View::Hosts);
        assert!(a.diagnose.running);
        assert!(
            a.status.as_ref().unwrap().1.contains("background"),
            "{:?}",
            a.status
        );
        // Coming back shows the same timeline, without starting anew.
        assert_eq!(a.on_key(key(KeyCode::Char('D'))), None);
        assert_eq!((a.view, a.diagnose.rounds), (View::Diagnose, 3));
        assert_eq!(a.on_key(key(KeyCode::Char('D'))), None);
        assert_eq!(a.view, View::Hosts);
        // x in the view stops the rounds; the next visit starts afresh. q still quits.
        a.on_key(key(KeyCode::Char('D')));
        assert_eq!(
            a.on_key(key(KeyCode::Char('x'))),
            Some(Command::StopDiagnosis)
        );
        assert_eq!((a.view, a.diagnose.running), (View::Hosts, false));
        assert_eq!(
            a.on_key(key(KeyCode::Char('D'))),
            Some(Command::StartDiagnosis { target: None })
        );
        assert_eq!(a.diagnose.rounds, 0, "a new run has a new timeline");
        assert_eq!(a.on_key(key(KeyCode::Char('q'))), Some(Command::Quit));
    }

    #[test]
    fn t_targets_the_selected_host_with_its_open_ports() {
        use crate::core::event::{PortOutcome, ScanEvent};
        let mut a = app();
        a.on_key(key(KeyCode::Char('D')));
        // Nothing selected: refused with a word.
        assert_eq!(a.on_key(key(KeyCode::Char('t'))), None);
        assert!(a.status.as_ref().unwrap().1.contains("no host selected"));
        let now = a.now;
        let ip: IpAddr = "10.0.0.20".parse().unwrap();
        let id = a.dash.begin(
            super::super::state::JobKind::Ports {
                ip,
                spec: "22,80,443".into(),
            },
            &[],
            now,
        );
        let port = |port, state| PortOutcome {
            port,
            state,
            rtt: Some(Duration::from_millis(1)),
        };
        a.dash.apply(
            id,
            ScanEvent::Ports {
                ip,
                results: vec![
                    port(22, crate::core::model::PortState::Open),
                    port(80, crate::core::model::PortState::Closed),
                    port(443, crate::core::model::PortState::Open),
                ],
            },
            now,
        );
        a.prepare(now);
        assert_eq!(a.table.selected_ip(), Some(ip));
        a.diagnose.rounds = 5;
        let want = DiagnoseTarget {
            ip,
            ports: vec![22, 443],
        };
        assert_eq!(
            a.on_key(key(KeyCode::Char('t'))),
            Some(Command::StartDiagnosis {
                target: Some(want.clone())
            })
        );
        assert_eq!(a.diagnose.target, Some(want));
        assert_eq!(a.diagnose.rounds, 0, "another question, another timeline");
        // Again: back to this machine alone.
        assert_eq!(
            a.on_key(key(KeyCode::Char('t'))),
            Some(Command::StartDiagnosis { target: None })
        );
    }

    #[test]
    fn resolve_and_export_prompts() {
        let mut a = app();
        a.on_key(key(KeyCode::Char('d')));
        type_str(&mut a, "lab.test:mx");
        assert_eq!(
            a.on_key(key(KeyCode::Enter)),
            Some(Command::Resolve {
                name: "lab.test".into(),
                rtype: RecordType::MX
            })
        );
        a.on_key(key(KeyCode::Char('e')));
        let Mode::Prompt(p) = &a.mode else { panic!() };
        assert_eq!(p.editor.text(), "netdx-20231114-221320.json");
        assert_eq!(
            a.on_key(key(KeyCode::Enter)),
            Some(Command::Export {
                path: "netdx-20231114-221320.json".into()
            })
        );
        a.on_key(key(KeyCode::Char('e')));
        a.on_key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        type_str(&mut a, "out.txt");
        assert_eq!(a.on_key(key(KeyCode::Enter)), None);
    }

    #[test]
    fn mouse_selects_rows_sorts_by_title_and_scrolls() {
        use crate::core::event::{IcmpOutcome, ScanEvent};
        let mut a = app();
        let now = a.now;
        let id = a.dash.begin(
            super::super::state::JobKind::Sweep {
                targets: vec!["10.0.0.0/26".into()],
            },
            &[],
            now,
        );
        for i in 1..=60u8 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, i));
            a.dash.apply(
                id,
                ScanEvent::Icmp(IcmpOutcome {
                    ip,
                    sent: 1,
                    received: 1,
                    rtts: vec![std::time::Duration::from_micros(1000 - u64::from(i))],
                }),
                now,
            );
        }
        a.size = Rect::new(0, 0, 160, 48);
        a.prepare(now);
        let table = layout::layout(a.size, a.view, a.pane, a.dash.started())
            .table
            .unwrap();
        let click = |x: u16, y: u16| MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        };
        // Border, titles, then rows: the sixth row.
        a.on_mouse(click(table.x + 3, table.y + 2 + 5));
        assert_eq!(a.table.selected, 5);
        assert_eq!(a.table.selected_ip(), Some("10.0.0.6".parse().unwrap()));
        // A click on the "RTT" title sorts by RTT (fastest first: 10.0.0.60).
        let x = (table.x..table.right())
            .find(|&x| {
                layout::column_at(&a.table, &a.dash, table, x)
                    == Some(super::super::table::Column::Rtt)
            })
            .unwrap();
        a.on_mouse(click(x, table.y + 1));
        a.prepare(now);
        assert_eq!(a.table.sort, super::super::table::Column::Rtt);
        assert_eq!(a.table.order[0].to_string(), "10.0.0.60");
        // The wheel moves the selection three rows.
        let before = a.table.selected;
        a.on_mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            ..click(0, 0)
        });
        assert_eq!(a.table.selected, before + 3);
        // Clicks outside the table do nothing.
        a.on_mouse(click(0, 0));
        assert_eq!(a.table.selected, before + 3);
    }

    #[test]
    fn enter_on_context_screen_starts_suggestions_only_before_a_run() {
        let mut a = app();
        a.suggestions = vec![Suggestion {
            spec: "10.77.0.0/24".into(),
            why: "LAN".into(),
        }];
        assert_eq!(
            a.on_key(key(KeyCode::Enter)),
            Some(Command::Scan {
                targets: vec!["10.77.0.0/24".into()]
            })
        );
        let now = a.now;
        a.dash.begin(
            super::super::state::JobKind::Sweep {
                targets: vec!["10.77.0.0/24".into()],
            },
            &[],
            now,
        );
        assert_eq!(a.on_key(key(KeyCode::Enter)), None);
        assert_eq!(a.on_key(key(KeyCode::Char('r'))), None, "sweep running");
    }
}
