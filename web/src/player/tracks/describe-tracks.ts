// "FR audio, EN subtitles": what someone hears and reads, by language, as the
// People panel and the host's suggestion show it.
/** Languages as BCP 47 tags; undefined: not said (the movie's only audio, no subtitles). */
export function describeTracks(tracks: { audio?: string | undefined; subtitles?: string | undefined } | undefined): string {
  const parts: string[] = [];
  if (tracks?.audio !== undefined) parts.push(`${tracks.audio.toUpperCase()} audio`);
  if (tracks?.subtitles !== undefined) parts.push(`${tracks.subtitles.toUpperCase()} subtitles`);
  return parts.join(', ');
}
