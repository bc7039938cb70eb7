//! `roster backup`, `restore`, `check` and `status`.

use std::path::PathBuf;

use clap::Args;
use roster::config::DataDirArg;
use roster::error::AppError;
use roster::ops::status::human_bytes;
use roster::ops::{backup, check, status};

#[derive(Args)]
pub struct BackupArgs {
    /// A new file to write, or a directory to write `roster-<UTC time>.db` in.
    dest: PathBuf,
    #[command(flatten)]
    data: DataDirArg,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A backup made by `roster backup` (or a scheduled one).
    src: PathBuf,
    #[command(flatten)]
    data: DataDirArg,
}

#[derive(Args)]
pub struct CheckArgs {
    /// Rebuild what the check found wrong among the derived data (counts,
    /// tag index, search index, queues), with the server stopped. Contacts
    /// are never changed.
    #[arg(long)]
    repair: bool,
    #[command(flatten)]
    data: DataDirArg,
}

/// `roster backup`.
pub fn backup(args: BackupArgs) -> Result<(), AppError> {
    let done = backup::backup(&args.data.data_dir, &args.dest)?;
    println!(
        "Backed up {} contacts to {} ({}) in {:.2} s.",
        done.contacts,
        done.path.display(),
        human_bytes(done.bytes),
        done.seconds
    );
    Ok(())
}

/// `roster restore`.
pub fn restore(args: RestoreArgs) -> Result<(), AppError> {
    let done = backup::restore(&args.data.data_dir, &args.src)?;
    println!(
        "Restored {} ({} contacts) into {}.",
        args.src.display(),
        done.contacts,
        args.data.data_dir.display()
    );
    if let Some(previous) = done.previous {
        println!(
            "The database that was there is kept as {}.",
            previous.display()
        );
    }
    println!("The search index is rebuilt when the server next starts.");
    Ok(())
}

/// `roster check`: prints each part's findings; fails when any remain.
pub fn check(args: CheckArgs) -> Result<(), AppError> {
    let dir = &args.data.data_dir;
    let mut report = check::check(dir)?;
    print_report(&report);
    if args.repair && !report.is_ok() {
        let done = check::repair(dir, &report)?;
        if let Some(d) = done.derived {
            println!(
                "Rebuilt the kept counts and the tag index ({} tag rows); queued {} stranded lookups.",
                d.tag_rows, d.lookups_queued
            );
        }
        if let Some(n) = done.reindexed {
            println!("Rebuilt the search index ({n} contacts).");
        }
        println!("Checking again:");
        report = check::check(dir)?;
        print_report(&report);
    }
    let problems: usize = report.sections.iter().map(|s| s.problems.len()).sum();
    if problems == 0 {
        println!("No problems found.");
        return Ok(());
    }
    let hint = if !args.repair
        && report
            .sections
            .iter()
            .any(|s| s.repairable && !s.problems.is_empty())
    {
        "; `roster check --repair` (with the server stopped) rebuilds what derives from the contacts"
    } else {
        ""
    };
    Err(AppError::Conflict(format!(
        "the check found {problems} problems{hint}"
    )))
}

fn print_report(report: &check::Report) {
    for s in &report.sections {
        if s.problems.is_empty() {
            println!("{:<20} ok", s.name);
        } else {
            println!("{:<20} {} problems", s.name, s.problems.len());
            for p in &s.problems {
                println!("  - {p}");
            }
        }
        for n in &s.notes {
            println!("  note: {n}");
        }
    }
}

/// `roster status`.
pub fn status(data: DataDirArg) -> Result<(), AppError> {
    print!("{}", status::status(&data.data_dir)?);
    Ok(())
}
