//! The catalog's commands: `cinemesh ingest FILE --title T [--subtitle fr=x.srt]`
//! and `cinemesh subtitles add|remove`.

use std::path::PathBuf;

use anyhow::Context;
use cinemesh_catalog::CatalogStore;
use cinemesh_catalog::domain::{Description, MovieId, Title, Year};
use cinemesh_catalog::ingest::{IngestRequest, Ingester, SidecarSubtitles};
use cinemesh_catalog::model::RenditionKind;
use cinemesh_catalog::subtitle_tracks::NewSubtitles;
use cinemesh_common::Database;
use clap::{Args, Subcommand};

use crate::config::Config;
use crate::progress_bar::ProgressBar;

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The movie file.
    file: PathBuf,
    #[arg(long)]
    title: String,
    #[arg(long)]
    description: Option<String>,
    #[arg(long)]
    year: Option<i64>,
    /// A subtitle file to add as a track: `LANGUAGE=PATH` (`fr=film.fr.srt`),
    /// or just `PATH` when its language is unknown. Repeat for more.
    #[arg(long = "subtitle", value_name = "LANGUAGE=PATH")]
    subtitles: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum SubtitlesCommand {
    /// Add a subtitle file (SubRip, WebVTT or ASS/SSA) to a movie as a track.
    Add {
        /// The movie's id.
        movie: String,
        /// The subtitle file.
        file: PathBuf,
        /// Its language (`fr`, `pt-BR`, `fre`).
        #[arg(long)]
        language: Option<String>,
        /// Its name in the menu; by default the language's own name.
        #[arg(long)]
        label: Option<String>,
        /// Its text encoding, when it is neither UTF-8 nor its language's usual one.
        #[arg(long)]
        encoding: Option<String>,
    },
    /// Remove a subtitle track (its name, e.g. `subs-fr`, is in the movie's details).
    Remove { movie: String, name: String },
}

fn sidecar(spec: &str) -> SidecarSubtitles {
    // `fr=path`, unless what precedes `=` cannot be a language (a path with `=` in it).
    match spec.split_once('=') {
        Some((language, path)) if !language.is_empty() && language.len() <= 35 && !language.contains('/') => {
            SidecarSubtitles { path: path.into(), language: Some(language.to_owned()), ..SidecarSubtitles::default() }
        }
        _ => SidecarSubtitles { path: spec.into(), ..SidecarSubtitles::default() },
    }
}

async fn open_ingester(config: &Config) -> anyhow::Result<(Ingester, Database)> {
    let media_dir = config.storage.media_dir();
    std::fs::create_dir_all(&media_dir).with_context(|| format!("creating {}", media_dir.display()))?;
    let db = Database::connect(&config.storage.database_url()).await.context("opening the database")?;
    Ok((Ingester { store: CatalogStore::new(db.clone()), media_dir, tools: config.ingest.clone() }, db))
}

pub async fn ingest(config: Config, args: IngestArgs) -> anyhow::Result<()> {
    let request = IngestRequest {
        source: args.file,
        title: Title::parse(&args.title)?,
        description: Description::parse(args.description.as_deref().unwrap_or_default())?,
        year: args.year.map(Year::parse).transpose()?,
        subtitles: args.subtitles.iter().map(|spec| sidecar(spec)).collect(),
    };
    let (ingester, db) = open_ingester(&config).await?;
    let mut bar = ProgressBar::default();
    let result = ingester.ingest(&request, &mut |p| bar.update(p)).await;
    bar.finish();
    let described = match &result {
        Ok(movie) => describe_tracks(&ingester.store, &movie.id).await,
        Err(_) => Ok(Vec::new()),
    };
    db.close().await;
    let movie = result.map_err(|e| anyhow::anyhow!("{} ({})", e, e.code()))?;
    for line in described.context("reading back the movie's tracks")? {
        println!("{line}");
    }
    println!("ingested {:?} as movie {}", movie.title, movie.id);
    Ok(())
}

pub async fn subtitles(config: Config, command: SubtitlesCommand) -> anyhow::Result<()> {
    let (ingester, db) = open_ingester(&config).await?;
    let result = match command {
        SubtitlesCommand::Add { movie, file, language, label, encoding } => {
            let movie = MovieId::parse(&movie)?;
            match NewSubtitles::from_file(&file) {
                Ok(read) => {
                    let new = NewSubtitles { language, label, encoding, ..read };
                    let added = ingester.add_subtitles(&movie, new).await;
                    added.map(|track| println!("added subtitles {:?} as {}", track.label, track.name))
                }
                Err(e) => Err(e),
            }
        }
        SubtitlesCommand::Remove { movie, name } => {
            let movie = MovieId::parse(&movie)?;
            ingester.remove_subtitles(&movie, &name).await.map(|()| println!("removed subtitles {name}"))
        }
    };
    db.close().await;
    result.map_err(|e| anyhow::anyhow!("{} ({})", e, e.code()))
}

/// One line for the audio tracks, one for the subtitles, and one per track left out.
async fn describe_tracks(store: &CatalogStore, id: &str) -> anyhow::Result<Vec<String>> {
    let id = MovieId::parse(id)?;
    let Some((_, renditions)) = store.get(&id).await? else {
        return Ok(Vec::new());
    };
    let list = |kind: RenditionKind| {
        let names: Vec<String> = renditions
            .iter()
            .filter(|r| r.kind == kind)
            .map(|r| {
                let mut notes: Vec<&str> = r.language.as_deref().into_iter().collect();
                if r.is_default {
                    notes.push("default");
                }
                if r.forced {
                    notes.push("forced");
                }
                if notes.is_empty() { r.label.clone() } else { format!("{} ({})", r.label, notes.join(", ")) }
            })
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    };
    let mut lines = vec![
        format!(
            "audio tracks: {}",
            list(RenditionKind::Audio).unwrap_or_else(|| "one, in every video rendition".into())
        ),
        format!("subtitles: {}", list(RenditionKind::Subtitles).unwrap_or_else(|| "none".into())),
    ];
    for skipped in store.skipped_tracks(&id).await? {
        let language = skipped.language.map(|l| format!(", {l}")).unwrap_or_default();
        lines.push(format!(
            "skipped {} track {} ({}{language}): {} ({})",
            skipped.kind, skipped.position, skipped.codec, skipped.reason, skipped.code
        ));
    }
    Ok(lines)
}
