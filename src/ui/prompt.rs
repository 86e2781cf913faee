//! A one-line text editor for the dashboard's prompts: insert at the cursor, move left/right,
//! Home/End (and Ctrl-A/Ctrl-E), Backspace, Delete, Ctrl-U (clear to start), Ctrl-W (delete
//! the word before the cursor). Works in characters, not bytes, so editing a name with
//! non-ASCII letters never splits one.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineEditor {
    chars: Vec<char>,
    /// Cursor position in characters, 0..=len.
    cursor: usize,
}

/// What a key did to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text or the cursor changed (or nothing did).
    Edited,
    Submit,
    Cancel,
}

impl LineEditor {
    pub fn new(text: &str) -> Self {
        let chars: Vec<char> = text.chars().collect();
        LineEditor {
            cursor: chars.len(),
            chars,
        }
    }

    pub fn text(&self) -> String {
        self.chars.iter().collect()
    }

    pub fn cursor(&self) -> usize {
        self.cursor
    }

    pub fn insert(&mut self, c: char) {
        if c.is_control() {
            return;
        }
        self.chars.insert(self.cursor, c);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            self.chars.remove(self.cursor);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.chars.len() {
            self.chars.remove(self.cursor);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.chars.len());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.chars.len();
    }

    pub fn clear_to_start(&mut self) {
        self.chars.drain(..self.cursor);
        self.cursor = 0;
    }

    pub fn delete_word(&mut self) {
        let mut start = self.cursor;
        while start > 0 && self.chars[start - 1] == ' ' {
            start -= 1;
        }
        while start > 0 && self.chars[start - 1] != ' ' {
            start -= 1;
        }
        self.chars.drain(start..self.cursor);
        self.cursor = start;
    }

    /// Apply a key press.
    pub fn key(&mut self, key: KeyEvent) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Enter => return Edit::Submit,
            KeyCode::Esc => return Edit::Cancel,
            KeyCode::Char('c') if ctrl => return Edit::Cancel,
            KeyCode::Char('a') if ctrl => self.home(),
            KeyCode::Char('e') if ctrl => self.end(),
            KeyCode::Char('u') if ctrl => self.clear_to_start(),
            KeyCode::Char('w') if ctrl => self.delete_word(),
            KeyCode::Char('b') if ctrl => self.left(),
            KeyCode::Char('f') if ctrl => self.right(),
            KeyCode::Char(c) if !ctrl => self.insert(c),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            KeyCode::Left => self.left(),
            KeyCode::Right => self.right(),
            KeyCode::Home => self.home(),
            KeyCode::End => self.end(),
            _ => {}
        }
        Edit::Edited
    }

    /// The part of the text that fits in `width` columns with the cursor visible, and the
    /// cursor's column within it. Scrolls horizontally when the text is longer than the field.
    pub fn window(&self, width: usize) -> (String, usize) {
        let width = width.max(1);
        let start = if self.cursor >= width {
            self.cursor + 1 - width
        } else {
            0
        };
        let text: String = self.chars.iter().skip(start).take(width).collect();
        (text, self.cursor - start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn ctrl(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn typed(e: &mut LineEditor, s: &str) {
        for c in s.chars() {
            e.key(k(KeyCode::Char(c)));
        }
    }

    #[test]
    fn insert_move_and_delete() {
        let mut e = LineEditor::default();
        typed(&mut e, "10.0.0.1");
        assert_eq!(e.text(), "10.0.0.1");
        e.key(k(KeyCode::Home));
        typed(&mut e, "x");
        assert_eq!(e.text(), "x10.0.0.1");
        e.key(k(KeyCode::Delete));
        assert_eq!(e.text(), "x0.0.0.1");
        e.key(k(KeyCode::Backspace));
        assert_eq!(e.text(), "0.0.0.1");
        assert_eq!(e.cursor(), 0);
        e.key(k(KeyCode::Backspace));
        assert_eq!(e.text(), "0.0.0.1");
        e.key(k(KeyCode::End));
        e.key(k(KeyCode::Left));
        e.key(k(KeyCode::Left));
        typed(&mut e, "9");
        assert_eq!(e.text(), "0.0.09.1");
        e.key(k(KeyCode::Right));
        e.key(k(KeyCode::Right));
        e.key(k(KeyCode::Right));
        assert_eq!(e.cursor(), 8);
        e.key(k(KeyCode::Delete));
        assert_eq!(e.text(), "0.0.09.1");
    }

    #[test]
    fn unicode_is_edited_by_character() {
        let mut e = LineEditor::new("café");
        e.key(k(KeyCode::Backspace));
        assert_eq!(e.text(), "caf");
        e.key(k(KeyCode::Left));
        typed(&mut e, "ñ");
        assert_eq!(e.text(), "cañf");
        assert_eq!(e.cursor(), 3);
    }

    #[test]
    fn control_keys() {
        let mut e = LineEditor::new("web.lab.test:MX  extra");
        e.key(ctrl('w'));
        assert_eq!(e.text(), "web.lab.test:MX  ");
        e.key(ctrl('w'));
        assert_eq!(e.text(), "");
        let mut e = LineEditor::new("abc def");
        e.key(ctrl('a'));
        assert_eq!(e.cursor(), 0);
        e.key(ctrl('e'));
        e.key(k(KeyCode::Left));
        e.key(ctrl('u'));
        assert_eq!(e.text(), "f");
        assert_eq!(e.key(k(KeyCode::Enter)), Edit::Submit);
        assert_eq!(e.key(k(KeyCode::Esc)), Edit::Cancel);
        assert_eq!(e.key(ctrl('c')), Edit::Cancel);
    }

    #[test]
    fn window_keeps_cursor_visible() {
        let e = LineEditor::new("0123456789");
        assert_eq!(e.window(4), ("789".to_string(), 3));
        let mut e = e;
        e.home();
        assert_eq!(e.window(4), ("0123".to_string(), 0));
        assert_eq!(LineEditor::new("ab").window(10), ("ab".to_string(), 2));
    }
}
