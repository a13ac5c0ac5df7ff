//! The admin library: every movie with what an operator weighs it by (size on
//! disk, tracks, viewers now, bytes served and how many came from peers),
//! searchable and sortable; and the edits of a movie's details.

use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use utoipa::ToSchema;

use crate::CatalogStore;
use crate::domain::{Description, InvalidInput, JsonInteger, ListQuery, MovieId, Title, Year};
use crate::model::{Movie, poster_url};

/// What the library can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LibrarySort {
    Added,
    Title,
    Year,
    Duration,
    Size,
    Viewers,
    Served,
    Offload,
}

impl LibrarySort {
    /// The column of the library query it orders by; never user text.
    fn column(self) -> &'static str {
        match self {
            Self::Added => "created_at_ms",
            Self::Title => "LOWER(title)",
            Self::Year => "COALESCE(year, 0)",
            Self::Duration => "duration_ms",
            Self::Size => "size_bytes",
            Self::Viewers => "viewers_now",
            Self::Served => "http_bytes + peer_bytes",
            Self::Offload => {
                "CASE WHEN http_bytes + peer_bytes > 0 THEN peer_bytes / (http_bytes + peer_bytes) ELSE 0 END"
            }
        }
    }
}

/// One movie in the admin library.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct LibraryMovie {
    pub id: String,
    pub title: String,
    pub description: String,
    pub year: Option<i64>,
    pub duration_ms: i64,
    pub created_at_ms: i64,
    pub poster_url: String,
    /// Every segment of every rendition, bytes.
    pub size_bytes: i64,
    /// Video renditions, best first (`720p`, `360p`).
    pub renditions: Vec<String>,
    /// Audio tracks of their own, by label.
    pub audio_tracks: Vec<String>,
    /// Subtitle tracks, by label.
    pub subtitle_tracks: Vec<String>,
    /// Viewers with a tracker session open on the movie now.
    pub viewers_now: i64,
    /// Bytes viewers reported fetching over HTTP and from peers, all sessions.
    pub http_bytes: i64,
    pub peer_bytes: i64,
}

/// A page of the admin library.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct LibraryPage {
    pub movies: Vec<LibraryMovie>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// A change to a movie's details; fields left out stay as they are.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MovieEdit {
    #[schema(min_length = 1, max_length = 200)]
    pub title: Option<String>,
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// A year, or `null` to clear it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1878, maximum = 2200)]
    pub year: Option<Option<JsonInteger>>,
}

/// `Some(value)` for a field that is there, even as `null`, so that `null`
/// (clear) differs from absent (keep).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl MovieEdit {
    /// `movie` with the edit applied, each field checked as at upload.
    pub fn apply(&self, movie: &Movie) -> Result<Movie, InvalidInput> {
        let mut edited = movie.clone();
        if let Some(title) = &self.title {
            edited.title = Title::parse(title)?.as_str().to_owned();
        }
        if let Some(description) = &self.description {
            edited.description = Description::parse(description)?.as_str().to_owned();
        }
        if let Some(year) = self.year {
            edited.year = year.map(|y| Year::parse(y.0)).transpose()?.map(Year::get);
        }
        Ok(edited)
    }
}

impl CatalogStore {
    /// A page of the library, `sort`ed (`descending` or not), then by id.
    pub async fn library(
        &self,
        query: &ListQuery,
        sort: LibrarySort,
        descending: bool,
    ) -> Result<LibraryPage, sqlx::Error> {
        let pattern = query.like_pattern().unwrap_or_else(|| "%".to_owned());
        let matches = "LOWER(title) LIKE $1 ESCAPE '\\' OR LOWER(description) LIKE $1 ESCAPE '\\'";
        let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM movies WHERE {matches}")))
            .bind(&pattern)
            .fetch_one(self.pool())
            .await?;
        // Sums as floating point: SQLite's integer SUM fails past 2^63.
        let sum = |expr: &str, table: &str, alias: &str| {
            format!(
                "(SELECT CAST(COALESCE(SUM(CAST({expr} AS DOUBLE PRECISION)), 0) AS DOUBLE PRECISION) \
                 FROM {table} x WHERE x.movie_id = m.id) AS {alias}"
            )
        };
        let sql = format!(
            "SELECT * FROM (SELECT m.id, m.title, m.description, m.year, m.duration_ms, m.created_at_ms, \
             m.poster_version, {size}, {http}, {peer}, \
             (SELECT COUNT(DISTINCT x.peer_id) FROM peer_sessions x WHERE x.movie_id = m.id AND x.left_at_ms IS NULL) \
             AS viewers_now \
             FROM movies m WHERE {matches}) AS library ORDER BY {order} {direction}, id LIMIT $2 OFFSET $3",
            size = sum("x.size_bytes", "segments", "size_bytes"),
            http = sum("x.http_bytes", "peer_sessions", "http_bytes"),
            peer = sum("x.peer_bytes", "peer_sessions", "peer_bytes"),
            matches = matches.replace("title", "m.title").replace("description", "m.description"),
            order = sort.column(),
            direction = if descending { "DESC" } else { "ASC" },
        );
        // Only fixed text goes into the SQL: the sort column comes from an
        // enum, the search text is bound.
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(&pattern)
            .bind(query.per_page)
            .bind(query.offset())
            .fetch_all(self.pool())
            .await?;
        let mut movies = rows.iter().map(library_movie).collect::<Result<Vec<_>, _>>()?;
        self.add_tracks(&mut movies).await?;
        Ok(LibraryPage { movies, page: query.page, per_page: query.per_page, total })
    }

    /// Fills in each movie's renditions and tracks, in one query.
    async fn add_tracks(&self, movies: &mut [LibraryMovie]) -> Result<(), sqlx::Error> {
        if movies.is_empty() {
            return Ok(());
        }
        let placeholders = (1..=movies.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT movie_id, name, kind, label FROM renditions WHERE movie_id IN ({placeholders}) \
             ORDER BY movie_id, height DESC, name"
        );
        // Placeholders only; the ids are bound.
        let mut statement = sqlx::query(AssertSqlSafe(sql));
        for movie in movies.iter() {
            statement = statement.bind(movie.id.clone());
        }
        for row in statement.fetch_all(self.pool()).await? {
            let id: String = row.try_get("movie_id")?;
            let Some(movie) = movies.iter_mut().find(|m| m.id == id) else { continue };
            let (name, label): (String, String) = (row.try_get("name")?, row.try_get("label")?);
            let shown = if label.is_empty() { name.clone() } else { label };
            match row.try_get::<String, _>("kind")?.as_str() {
                "audio" => movie.audio_tracks.push(shown),
                "subtitles" => movie.subtitle_tracks.push(shown),
                _ => movie.renditions.push(name),
            }
        }
        Ok(())
    }

    /// Writes a movie's title, description and year; whether it exists.
    pub async fn update_details(&self, movie: &Movie) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE movies SET title = $2, description = $3, year = $4 WHERE id = $1")
            .bind(&movie.id)
            .bind(&movie.title)
            .bind(&movie.description)
            .bind(movie.year)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Gives a movie's poster a new URL (its file was replaced); whether it exists.
    pub async fn bump_poster_version(&self, id: &MovieId) -> Result<bool, sqlx::Error> {
        let done = sqlx::query("UPDATE movies SET poster_version = poster_version + 1 WHERE id = $1")
            .bind(id.as_str())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn library_movie(row: &AnyRow) -> Result<LibraryMovie, sqlx::Error> {
    let movie = crate::store::movie_from_row(row)?;
    // `as` saturates: a sum past i64::MAX reads as i64::MAX.
    let total = |column: &str| row.try_get::<f64, _>(column).map(|sum| sum.max(0.0) as i64);
    Ok(LibraryMovie {
        poster_url: poster_url(&movie),
        id: movie.id,
        title: movie.title,
        description: movie.description,
        year: movie.year,
        duration_ms: movie.duration_ms,
        created_at_ms: movie.created_at_ms,
        size_bytes: total("size_bytes")?,
        renditions: vec![],
        audio_tracks: vec![],
        subtitle_tracks: vec![],
        viewers_now: row.try_get("viewers_now")?,
        http_bytes: total("http_bytes")?,
        peer_bytes: total("peer_bytes")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn movie() -> Movie {
        Movie {
            id: "m1".into(),
            title: "Old".into(),
            description: "d".into(),
            year: Some(1999),
            duration_ms: 1000,
            created_at_ms: 0,
            poster_version: 0,
        }
    }

    #[test]
    fn an_edit_changes_only_the_fields_it_names() {
        let edit: MovieEdit = serde_json::from_str(r#"{"title":"  New  "}"#).unwrap();
        let edited = edit.apply(&movie()).unwrap();
        assert_eq!((edited.title.as_str(), edited.year, edited.description.as_str()), ("New", Some(1999), "d"));
    }

    #[test]
    fn a_null_year_clears_it_and_an_absent_one_keeps_it() {
        let whole: MovieEdit = serde_json::from_str(r#"{"year":2001.0}"#).unwrap();
        assert_eq!(whole.apply(&movie()).unwrap().year, Some(2001));
        let clear: MovieEdit = serde_json::from_str(r#"{"year":null}"#).unwrap();
        assert_eq!(clear.apply(&movie()).unwrap().year, None);
        let keep: MovieEdit = serde_json::from_str(r#"{"description":""}"#).unwrap();
        assert_eq!(keep.apply(&movie()).unwrap().year, Some(1999));
    }

    #[test]
    fn edits_are_checked_like_uploads() {
        let empty: MovieEdit = serde_json::from_str(r#"{"title":"   "}"#).unwrap();
        assert_eq!(empty.apply(&movie()).unwrap_err().code, "invalid_title");
        let year: MovieEdit = serde_json::from_str(r#"{"year":99999}"#).unwrap();
        assert_eq!(year.apply(&movie()).unwrap_err().code, "invalid_year");
        assert!(serde_json::from_str::<MovieEdit>(r#"{"poster":"x"}"#).is_err(), "unknown fields are refused");
    }
}
