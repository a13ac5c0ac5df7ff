// The fragment loader hls.js uses unchanged (`fLoader`): each media segment
// is first offered to the P2P engine (cache, then peers); whatever it cannot
// deliver in time is fetched by hls.js's own HTTP loader, which keeps its
// retry and timeout policy. Playlists stay with hls.js's default loader.
import type {
  FragmentLoaderConstructor,
  FragmentLoaderContext,
  HlsConfig,
  Loader,
  LoaderCallbacks,
  LoaderConfiguration,
  LoaderContext,
  LoaderStats,
} from 'hls.js';

import type { P2PEngine, PeerHead } from './engine';
import { watchSilence } from './http-silence';
import type { HttpReason } from './types';

/** Loads of one fragment made again after going silent, at most. */
const MAX_SILENT_RESTARTS = 2;

type HttpLoaderConstructor = new (config: HlsConfig) => Loader<LoaderContext>;

/** hls.js keeps a reference to a loader's `stats` (as the fragment's): fill it in, never replace it. */
function copyStats(target: LoaderStats, source: LoaderStats): void {
  Object.assign(target, source, {
    loading: { ...source.loading },
    parsing: { ...source.parsing },
    buffering: { ...source.buffering },
  });
}

/** A loader's stats before its load (as hls.js's own loaders start). */
export function freshStats(): LoaderStats {
  return {
    aborted: false,
    loaded: 0,
    retry: 0,
    total: 0,
    chunkCount: 0,
    bwEstimate: 0,
    loading: { start: 0, first: 0, end: 0 },
    parsing: { start: 0, end: 0 },
    buffering: { start: 0, first: 0, end: 0 },
  };
}

/** A fragment loader class bound to `engine`; `HttpLoader` is hls.js's default loader. */
export function p2pFragmentLoader(engine: P2PEngine, HttpLoader: HttpLoaderConstructor): FragmentLoaderConstructor {
  return class P2PFragmentLoader implements Loader<FragmentLoaderContext> {
    context: FragmentLoaderContext | null = null;
    readonly stats: LoaderStats = freshStats();
    readonly #hlsConfig: HlsConfig;
    #http: Loader<LoaderContext> | undefined;
    #abort = new AbortController();
    #stopWatching = (): void => {};

    constructor(config: HlsConfig) {
      this.#hlsConfig = config;
    }

    load(context: FragmentLoaderContext, config: LoaderConfiguration, callbacks: LoaderCallbacks<FragmentLoaderContext>): void {
      this.context = context;
      const retry = this.stats.retry;
      copyStats(this.stats, freshStats());
      this.stats.retry = retry;
      this.stats.loading.start = performance.now();
      this.#abort = new AbortController();
      const { frag } = context;
      const rendition = engine.index.renditionOfUrl(context.url);
      const byteRange = (context.rangeStart ?? 0) > 0 || (context.rangeEnd ?? 0) > 0;
      if (frag.sn === 'initSegment' || rendition === undefined || byteRange) {
        this.#loadOverHttp(context, config, callbacks, undefined, 'init_segment');
        return;
      }
      const sequence = frag.sn;
      const signal = this.#abort.signal;
      // A peer transfer under way shows hls.js its progress, as an HTTP load
      // would: with none, hls.js's abandon rules judged it by the bandwidth
      // estimate alone, gave up transfers that were arriving in time and
      // switched down (across homes, nearly every 480p segment from a peer).
      const progress = (received: number): void => {
        const stats = this.stats;
        if (signal.aborted || received <= stats.loaded) return;
        stats.loading.first ||= performance.now();
        stats.loaded = received;
        stats.total = Math.max(stats.total, engine.index.get(rendition, sequence)?.sizeBytes ?? received);
      };
      void engine.fromPeers(rendition, sequence, signal, progress).then(
        (result) => {
          if (signal.aborted) return;
          if ('fallback' in result) {
            this.#loadOverHttp(context, config, callbacks, { rendition, sequence }, result.fallback, result.head);
            return;
          }
          // Timed at the recent loading rate, not by the wait before it (see loading-throughput.ts).
          const stats = this.stats;
          stats.loaded = stats.total = result.bytes.length;
          stats.chunkCount = 1;
          // Before any transfer was timed: as if at the rendition's own bitrate, neither up nor down.
          stats.loading = engine.throughput.timings(result.bytes.length, performance.now(), frag.duration * 1000);
          // hls.js hands the buffer to its transmuxer, which may detach it: never give it the cache's.
          const data = result.bytes.slice().buffer;
          callbacks.onSuccess({ url: context.url, data }, stats, context, null);
        },
        () => {
          if (!signal.aborted) this.#loadOverHttp(context, config, callbacks, { rendition, sequence }, 'peer_closed');
        },
      );
    }

    /**
     * hls.js's own HTTP load of the fragment; with a `head` a peer sent before
     * it was given up, only the rest (a byte range), and the whole is handed
     * over once verified.
     */
    #loadOverHttp(
      context: FragmentLoaderContext,
      config: LoaderConfiguration,
      callbacks: LoaderCallbacks<FragmentLoaderContext>,
      segment: { rendition: string; sequence: number } | undefined,
      reason: HttpReason,
      head?: PeerHead,
      silentRestarts = 0,
    ): void {
      const http = new HttpLoader(this.#hlsConfig) as Loader<FragmentLoaderContext>;
      this.#http = http;
      // A load over a connection that died is made again on a new one (http-silence.ts), a few
      // times; then hls.js's own timeouts judge it (an origin that is only slow still serves).
      this.#stopWatching();
      const stopWatching =
        silentRestarts >= MAX_SILENT_RESTARTS
          ? () => {}
          : watchSilence(
              () => (http.stats.loading.first > 0 ? 1 : 0) + http.stats.loaded,
              () => {
                if (this.#http !== http || this.#abort.signal.aborted) return;
                // What came before the silence crossed the origin all the same.
                if (segment !== undefined && http.stats.loaded > 0) engine.httpPartial(segment.rendition, http.stats.loaded);
                // Quietly: destroy calls none of hls.js's callbacks.
                http.destroy();
                engine.httpWentSilent();
                this.#loadOverHttp(context, config, callbacks, segment, reason, head, silentRestarts + 1);
              },
            );
      this.#stopWatching = stopWatching;
      const ours = this.stats;
      // What a peer transfer given up had shown hls.js starts over with the HTTP load.
      ours.loaded = ours.total = ours.loading.first = 0;
      const { onProgress } = callbacks;
      const size = segment === undefined ? undefined : engine.index.get(segment.rendition, segment.sequence)?.sizeBytes;
      const rest = head !== undefined && size !== undefined ? { head, context: { ...context, rangeStart: head.bytes.length, rangeEnd: size } } : undefined;
      const signal = this.#abort.signal;
      http.load(rest?.context ?? context, config, {
        onSuccess: (response, stats, _ctx, details) => {
          stopWatching();
          copyStats(ours, stats);
          // Timed on what HTTP carried: the head's bytes took no time of this load.
          if (segment !== undefined) engine.httpTimed(stats.loaded, stats.loading.end - stats.loading.first);
          if (segment === undefined || !(response.data instanceof ArrayBuffer)) {
            callbacks.onSuccess(response, ours, context, details);
            return;
          }
          const bytes = new Uint8Array(response.data.slice(0));
          if (rest === undefined) {
            void engine.httpLoaded(segment.rendition, segment.sequence, bytes, reason);
            callbacks.onSuccess(response, ours, context, details);
            return;
          }
          void engine.completeOverHttp(segment.rendition, segment.sequence, rest.head, bytes, reason).then((whole) => {
            if (signal.aborted) return;
            // Not the catalog's segment (the peer lied): fetched whole after all.
            if (whole === undefined) this.#loadOverHttp(context, config, callbacks, segment, 'bad_hash');
            else callbacks.onSuccess({ url: context.url, data: whole.slice().buffer }, ours, context, details);
          });
        },
        onError: (error, _ctx, details, stats) => {
          stopWatching();
          copyStats(ours, stats);
          callbacks.onError(error, context, details, ours);
        },
        onTimeout: (stats, _ctx, details) => {
          stopWatching();
          copyStats(ours, stats);
          callbacks.onTimeout(ours, context, details);
        },
        onAbort: (stats, _ctx, details) => {
          stopWatching();
          copyStats(ours, stats);
          if (segment !== undefined && stats.loaded > 0) engine.httpPartial(segment.rendition, stats.loaded);
          callbacks.onAbort?.(ours, context, details);
        },
        ...(onProgress === undefined
          ? {}
          : {
              onProgress: (stats: LoaderStats, _ctx: FragmentLoaderContext, data: string | ArrayBuffer, details: unknown) => {
                copyStats(ours, stats);
                onProgress(ours, context, data, details as Parameters<typeof onProgress>[3]);
              },
            }),
      });
    }

    abort(): void {
      if (this.#abort.signal.aborted) return;
      this.#abort.abort();
      this.stats.aborted = true;
      // hls.js may destroy this loader from inside the abort callback.
      this.#http?.abort();
    }

    destroy(): void {
      // Quietly: destroying calls no callback (hls.js calls destroy from its own).
      this.#abort.abort();
      this.#stopWatching();
      const http = this.#http;
      this.#http = undefined;
      http?.destroy();
      this.context = null;
    }
  };
}
