//! `cinemesh admin-user add|remove|list`: the users who may sign in at
//! `/admin`. A password is read from standard input (one line), never from
//! the command line, where other users of the machine could see it.

use std::io::BufRead;

use anyhow::{Context, bail};
use cinemesh_catalog::admin::AdminAccounts;
use cinemesh_catalog::admin::accounts::{NewPassword, UserName};
use cinemesh_common::Database;
use clap::Subcommand;

use crate::config::Config;

#[derive(Debug, Subcommand)]
pub enum AdminUserCommand {
    /// Add a user, or set a user's new password (which signs them out);
    /// the password is the first line of standard input.
    Add { name: String },
    /// Remove a user and sign them out.
    Remove { name: String },
    /// List the users.
    List,
}

pub async fn admin_user(config: Config, command: AdminUserCommand) -> anyhow::Result<()> {
    let db = Database::connect(&config.storage.database_url()).await.context("opening the database")?;
    let accounts = AdminAccounts::new(db.clone());
    let done = run(&accounts, command).await;
    db.close().await;
    done
}

async fn run(accounts: &AdminAccounts, command: AdminUserCommand) -> anyhow::Result<()> {
    match command {
        AdminUserCommand::Add { name } => {
            let name = UserName::parse(&name)?;
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
            let password = NewPassword::parse(line.trim_end_matches(['\r', '\n']))?;
            accounts.set_user(&name, &password).await?;
            println!("admin user {} can sign in at /admin", name.as_str());
        }
        AdminUserCommand::Remove { name } => {
            let name = UserName::parse(&name)?;
            if !accounts.remove_user(&name).await? {
                bail!("there is no admin user {}", name.as_str());
            }
            println!("admin user {} removed", name.as_str());
        }
        AdminUserCommand::List => {
            for name in accounts.user_names().await? {
                println!("{name}");
            }
        }
    }
    Ok(())
}
