// The host's "Suggest my languages to everyone": the audio and subtitles the
// host chose become the room's suggestion, which every member who has not
// picked their own takes. Only the host sees it, and only for a movie that
// has a choice to make (several audio tracks, or subtitles).
import type { MovieDetail } from '../api/types';
import type { TrackMenus } from '../player/tracks/track-menus';
import type { RoomClientMessage } from '../protocol/RoomClientMessage';
import { h } from '../ui/dom';

export class SuggestTracksButton {
  readonly element = h('button', { type: 'button', hidden: true, title: 'Everyone who has not picked their own takes these' }, 'Suggest my languages to everyone');
  #hasChoices = false;
  #isHost = false;

  /** `tracks` says what the host chose (the menus of the movie playing); `send` goes to the room. */
  constructor(movie: MovieDetail, tracks: () => Pick<TrackMenus, 'summary'>, send: (message: RoomClientMessage) => void) {
    this.setMovie(movie);
    this.element.addEventListener('click', () => {
      const { audio, subtitles } = tracks().summary();
      send({ type: 'suggest_tracks', ...(audio === undefined ? {} : { audio }), ...(subtitles === undefined ? {} : { subtitles }) });
    });
  }

  /** The movie playing (the room's queue moved on). */
  setMovie(movie: MovieDetail): void {
    this.#hasChoices = movie.audio_tracks.length > 1 || movie.subtitles.length > 0;
    this.update(this.#isHost);
  }

  /** Shows the button to the host only (the role changes hands). */
  update(isHost: boolean): void {
    this.#isHost = isHost;
    this.element.hidden = !this.#hasChoices || !isHost;
  }
}
