//! `layerhound completions SHELL` and `layerhound man [DIR]`: generated from the
//! argument structs.

use super::{Cli, fail, print_bytes};
use clap::CommandFactory;
use std::path::PathBuf;
use std::process::ExitCode;

/// A completion script for `shell` on stdout.
pub(crate) fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "layerhound", &mut script);
    print_bytes(&script)
}

/// Man pages: one per command into `dir`, or the main page on stdout.
pub(crate) fn man(dir: Option<PathBuf>) -> ExitCode {
    match dir {
        Some(dir) => match std::fs::create_dir_all(&dir)
            .and_then(|()| clap_mangen::generate_to(Cli::command(), &dir))
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("writing man pages to {}: {e}", dir.display())),
        },
        None => {
            let mut page = Vec::new();
            let cmd = Cli::command().disable_help_subcommand(true);
            match clap_mangen::Man::new(cmd).render(&mut page) {
                Ok(()) => print_bytes(&page),
                Err(e) => fail(&format!("man page: {e}")),
            }
        }
    }
}
