import type { FragmentLoaderContext, HlsConfig, LoaderCallbacks, LoaderConfiguration, LoaderContext, LoaderStats } from 'hls.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import type { P2PEngine } from '../../src/p2p/engine';
import { freshStats, p2pFragmentLoader } from '../../src/p2p/hls-loader';
import { HTTP_SILENCE_MS } from '../../src/p2p/http-silence';

/** hls.js's HTTP loader as the P2P loader sees it: each load is told what to do by the test. */
class ScriptedHttpLoader {
  static made: ScriptedHttpLoader[] = [];
  stats: LoaderStats | null = freshStats();
  callbacks: LoaderCallbacks<LoaderContext> | undefined;
  context: LoaderContext | undefined;
  destroyed = false;

  constructor(_config: HlsConfig) {
    ScriptedHttpLoader.made.push(this);
  }

  load(context: LoaderContext, _config: LoaderConfiguration, callbacks: LoaderCallbacks<LoaderContext>): void {
    this.context = context;
    this.callbacks = callbacks;
  }

  /** Headers and `bytes` so far. */
  progress(bytes: number): void {
    const stats = this.stats as LoaderStats;
    stats.loading.first ||= performance.now();
    stats.loaded = bytes;
  }

  succeed(bytes: number): void {
    this.progress(bytes);
    const stats = this.stats as LoaderStats;
    stats.loading.end = performance.now();
    this.callbacks?.onSuccess({ url: this.context?.url ?? '', data: new ArrayBuffer(bytes) }, stats, this.context as LoaderContext, null);
  }

  /** As hls.js's own: abort tells the caller. */
  abort(): void {
    this.callbacks?.onAbort?.(this.stats as LoaderStats, this.context as LoaderContext, null);
  }

  /** As hls.js's own: quietly, and its stats are gone. */
  destroy(): void {
    this.destroyed = true;
    this.callbacks = undefined;
    this.stats = null;
  }
}

function fakeEngine() {
  return {
    index: { renditionOfUrl: () => '240p', get: () => ({ sizeBytes: 100 }) },
    fromPeers: async () => ({ fallback: 'no_holder' }),
    httpLoaded: vi.fn(async () => {}),
    httpWentSilent: vi.fn(),
    httpPartial: vi.fn(),
    httpTimed: vi.fn(),
  };
}

function loadFragment(engine: ReturnType<typeof fakeEngine>) {
  const Loader = p2pFragmentLoader(engine as unknown as P2PEngine, ScriptedHttpLoader as never);
  const loader = new Loader({} as HlsConfig);
  const callbacks = { onSuccess: vi.fn(), onError: vi.fn(), onTimeout: vi.fn(), onAbort: vi.fn() };
  const context = { url: '/240p/0.ts', frag: { sn: 0, duration: 4 }, responseType: 'arraybuffer' } as unknown as FragmentLoaderContext;
  loader.load(context, {} as LoaderConfiguration, callbacks as unknown as LoaderCallbacks<FragmentLoaderContext>);
  return { loader, callbacks };
}

beforeEach(() => {
  ScriptedHttpLoader.made = [];
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'performance'] });
});
afterEach(() => vi.useRealTimers());

describe("the P2P loader's HTTP loads", () => {
  it('make a load that went silent again on a new one, and hand hls.js only the one that came', async () => {
    const engine = fakeEngine();
    const { callbacks } = loadFragment(engine);
    await vi.advanceTimersByTimeAsync(0);
    expect(ScriptedHttpLoader.made).toHaveLength(1);
    const dead = ScriptedHttpLoader.made[0] as ScriptedHttpLoader;
    dead.progress(40);
    await vi.advanceTimersByTimeAsync(HTTP_SILENCE_MS + 300);
    expect(dead.destroyed, 'the silent load is dropped quietly').toBe(true);
    expect(ScriptedHttpLoader.made).toHaveLength(2);
    expect(engine.httpWentSilent).toHaveBeenCalledTimes(1);
    expect(engine.httpPartial, 'the bytes that came before the silence').toHaveBeenCalledWith('240p', 40);
    (ScriptedHttpLoader.made[1] as ScriptedHttpLoader).succeed(100);
    expect(callbacks.onSuccess).toHaveBeenCalledTimes(1);
    expect(callbacks.onAbort).not.toHaveBeenCalled();
    expect(engine.httpLoaded).toHaveBeenCalledWith('240p', 0, expect.any(Uint8Array), 'no_holder');
    await vi.advanceTimersByTimeAsync(10 * HTTP_SILENCE_MS);
    expect(ScriptedHttpLoader.made, 'a load that succeeded is no longer watched').toHaveLength(2);
  });

  it('leave a load that keeps bringing bytes alone, and stop making loads again after two', async () => {
    const engine = fakeEngine();
    const { callbacks } = loadFragment(engine);
    await vi.advanceTimersByTimeAsync(0);
    const slow = ScriptedHttpLoader.made[0] as ScriptedHttpLoader;
    for (let bytes = 1; bytes <= 10; bytes++) {
      slow.progress(bytes);
      await vi.advanceTimersByTimeAsync(HTTP_SILENCE_MS - 500);
    }
    expect(ScriptedHttpLoader.made, 'slow is not dead').toHaveLength(1);
    await vi.advanceTimersByTimeAsync(20 * HTTP_SILENCE_MS);
    // Then hls.js's own timeouts judge the last one: an origin that is only slow still serves.
    expect(ScriptedHttpLoader.made).toHaveLength(3);
    expect(engine.httpWentSilent).toHaveBeenCalledTimes(2);
    expect(callbacks.onSuccess).not.toHaveBeenCalled();
  });

  it('stop watching when hls.js drops the fragment', async () => {
    const engine = fakeEngine();
    const { loader } = loadFragment(engine);
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount(), 'the load is watched').toBe(1);
    loader.destroy();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * HTTP_SILENCE_MS);
    expect(ScriptedHttpLoader.made).toHaveLength(1);
    expect(engine.httpWentSilent).not.toHaveBeenCalled();
  });

  it('stop watching when hls.js aborts the load, and tell hls.js once', async () => {
    const engine = fakeEngine();
    const { loader, callbacks } = loadFragment(engine);
    await vi.advanceTimersByTimeAsync(0);
    (ScriptedHttpLoader.made[0] as ScriptedHttpLoader).progress(10);
    loader.abort();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(10 * HTTP_SILENCE_MS);
    expect(ScriptedHttpLoader.made).toHaveLength(1);
    expect(engine.httpWentSilent).not.toHaveBeenCalled();
    expect(callbacks.onAbort).toHaveBeenCalledTimes(1);
  });
});
