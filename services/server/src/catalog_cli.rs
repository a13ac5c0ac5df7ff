//! The catalog's commands: `cinemesh ingest FILE --title T [--subtitle fr=x.srt]`
//! and `cinemesh subtitles add|remove`.

use std::path::PathBuf;

use anyhow::Context;
use cinemesh_catalog::CatalogStore;
use cinemesh_catalog::domain::{Description, MovieId, Title, Year};
use cinemesh_catalog::ingest::{ActiveIngests, EncodeProgress, Ingester, SidecarSubtitles};
use cinemesh_catalog::jobs::{IngestJob, IngestQueue, JobSpec, JobState, JobStore};
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
    let title = Title::parse(&args.title)?;
    let description = Description::parse(args.description.as_deref().unwrap_or_default())?;
    let year = args.year.map(Year::parse).transpose()?;
    // Absolute paths: a server process may be the one that reads them.
    let absolute =
        |path: &std::path::Path| std::fs::canonicalize(path).with_context(|| format!("cannot read {}", path.display()));
    let mut subtitles: Vec<SidecarSubtitles> = args.subtitles.iter().map(|spec| sidecar(spec)).collect();
    for sidecar in &mut subtitles {
        sidecar.path = absolute(&sidecar.path)?;
    }
    let spec = JobSpec {
        title: title.as_str().to_owned(),
        description: description.as_str().to_owned(),
        year: year.map(Year::get),
        file_name: args.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        source: absolute(&args.file)?,
        subtitles,
        owns_source: false,
    };
    let (ingester, db) = open_ingester(&config).await?;
    let store = JobStore::new(db.clone());
    let queue = IngestQueue::new(store.clone(), ingester.clone(), ActiveIngests::default());
    let id = cinemesh_common::id::random_id(16);
    let result = run_job(&queue, &id, &spec).await;
    let described = match &result {
        Ok(job) => describe_tracks(&ingester.store, job.movie_id.as_deref().unwrap_or_default()).await,
        Err(_) => Ok(Vec::new()),
    };
    db.close().await;
    let job = result?;
    for line in described.context("reading back the movie's tracks")? {
        println!("{line}");
    }
    println!("ingested {:?} as movie {}", job.title, job.movie_id.unwrap_or_default());
    Ok(())
}

/// Queues the job, and follows it to its end: a running server's workers
/// take it when there are any (one queue for the CLI and the admin page);
/// else, or when none took it in time, this process runs it. Ctrl-C cancels it.
async fn run_job(queue: &IngestQueue, id: &str, spec: &JobSpec) -> anyhow::Result<IngestJob> {
    let store = &queue.store;
    store.enqueue(id, spec).await?;
    let server_runs_jobs = queue.workers_alive().await?;
    if server_runs_jobs {
        eprintln!("the running server ingests it: job {id} (Ctrl-C cancels it)");
    }
    let mut bar = ProgressBar::default();
    let mut queued_since = std::time::Instant::now();
    let job = loop {
        let Some(job) = store.get(id).await? else { anyhow::bail!("the ingest job {id} was removed") };
        if job.state.is_finished() {
            break job;
        }
        if job.state == JobState::Running {
            show_progress(&mut bar, &job);
            queued_since = std::time::Instant::now();
        }
        let nobody_took_it = queued_since.elapsed() > HANDOFF_PATIENCE && !queue.workers_alive().await?;
        if job.state == JobState::Queued && (!server_runs_jobs || nobody_took_it) {
            // Here, with the bar fed by the job's own progress records.
            let run = queue.run_one(id);
            let follow = follow_progress(store, id, &mut bar);
            tokio::pin!(run, follow);
            let (mut followed, mut cancelling) = (false, false);
            loop {
                tokio::select! {
                    ran = &mut run => { ran?; break; }
                    () = &mut follow, if !followed => followed = true,
                    // The run sees the cancel and ends, recording it.
                    _ = tokio::signal::ctrl_c(), if !cancelling => {
                        cancelling = true;
                        queue.cancel(id).await?;
                    }
                }
            }
            continue;
        }
        tokio::select! {
            () = actix_web::rt::time::sleep(FOLLOW_EVERY) => {}
            _ = tokio::signal::ctrl_c() => {
                queue.cancel(id).await?;
                eprintln!("cancelling job {id}");
            }
        }
    };
    if job.state == JobState::Done {
        bar.update(EncodeProgress { fraction: 1.0, eta: Some(std::time::Duration::ZERO) });
    }
    bar.finish();
    match job.state {
        JobState::Done => Ok(job),
        JobState::Cancelled => anyhow::bail!("the ingest was cancelled"),
        _ => anyhow::bail!("{} ({})", job.message.unwrap_or_default(), job.error.unwrap_or_default()),
    }
}

/// Redraws the bar from a job's records until it ends.
async fn follow_progress(store: &JobStore, id: &str, bar: &mut ProgressBar) {
    loop {
        actix_web::rt::time::sleep(FOLLOW_EVERY).await;
        match store.get(id).await {
            Ok(Some(job)) if job.state == JobState::Running => show_progress(bar, &job),
            Ok(Some(job)) if !job.state.is_finished() => {}
            _ => return,
        }
    }
}

fn show_progress(bar: &mut ProgressBar, job: &IngestJob) {
    bar.update(EncodeProgress {
        fraction: job.percent as f64 / 100.0,
        eta: job.eta_secs.map(|s| std::time::Duration::from_secs(s.max(0) as u64)),
    });
}

/// How long a job handed to a server may wait unclaimed before this process runs it.
const HANDOFF_PATIENCE: std::time::Duration = std::time::Duration::from_secs(20);
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

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
