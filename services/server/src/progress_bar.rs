//! A terminal progress bar for `cinemesh ingest`: redrawn in place on a
//! terminal, a line every 10 % when output goes to a file or a pipe.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use cinemesh_catalog::ingest::EncodeProgress;

const WIDTH: usize = 30;

pub struct ProgressBar {
    interactive: bool,
    last_decile: Option<u32>,
}

impl Default for ProgressBar {
    fn default() -> Self {
        Self { interactive: std::io::stderr().is_terminal(), last_decile: None }
    }
}

impl ProgressBar {
    pub fn update(&mut self, progress: EncodeProgress) {
        let line = render(progress);
        let mut err = std::io::stderr().lock();
        if self.interactive {
            let _ = write!(err, "\r{line}");
        } else {
            let decile = (progress.fraction * 10.0).floor() as u32;
            if self.last_decile != Some(decile) {
                self.last_decile = Some(decile);
                let _ = writeln!(err, "{line}");
            }
        }
        let _ = err.flush();
    }

    pub fn finish(&self) {
        if self.interactive {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// `[##########....................]  33%  ETA 0:41`
pub fn render(progress: EncodeProgress) -> String {
    let fraction = progress.fraction.clamp(0.0, 1.0);
    let filled = (fraction * WIDTH as f64).round() as usize;
    let eta = progress.eta.map(format_duration).unwrap_or_else(|| "--:--".into());
    format!("[{}{}] {:>3}%  ETA {eta}", "#".repeat(filled), ".".repeat(WIDTH - filled), (fraction * 100.0).round())
}

fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_bar_percent_and_eta() {
        let line = render(EncodeProgress { fraction: 0.5, eta: Some(Duration::from_secs(75)) });
        assert_eq!(line, format!("[{}{}]  50%  ETA 1:15", "#".repeat(15), ".".repeat(15)));
    }

    #[test]
    fn unknown_eta_and_long_eta() {
        assert!(render(EncodeProgress { fraction: 0.0, eta: None }).ends_with("0%  ETA --:--"));
        assert!(
            render(EncodeProgress { fraction: 0.1, eta: Some(Duration::from_secs(3725)) }).ends_with("ETA 1:02:05")
        );
    }
}
