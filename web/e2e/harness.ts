// What browser tests stand on: a real cinemesh server (the debug binary,
// CINEMESH_BIN to override) on a free port with its own data folder and
// database, and Debian's Chromium driven by playwright-core.
//
// Database: SQLite by default; CINEMESH_TEST_DATABASE=postgres creates a fresh
// Postgres database through the local socket (reachable from inside a network
// namespace, where 127.0.0.1:5432 is not).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Browser, chromium } from 'playwright-core';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const binary = process.env.CINEMESH_BIN ?? join(repoRoot, 'target/debug/cinemesh');
const webDist = join(repoRoot, 'web/dist');
const postgresSocketDir = process.env.CINEMESH_TEST_POSTGRES_SOCKET ?? '/var/run/postgresql';

export const databaseMode = process.env.CINEMESH_TEST_DATABASE ?? 'sqlite';

export interface TestServer {
  url: string;
  /** The server's process id (its memory is read from /proc by benchmarks). */
  pid: number;
  dataDir: string;
  env: NodeJS.ProcessEnv;
  stop: () => Promise<void>;
}

/** Environment for a cinemesh process with a fresh data folder and database. */
export function freshEnvironment(extra: NodeJS.ProcessEnv = {}): { env: NodeJS.ProcessEnv; cleanup: () => void } {
  const dataDir = mkdtempSync(join(tmpdir(), 'cinemesh-e2e-'));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    CINEMESH_LOG: process.env.CINEMESH_TEST_LOG ?? 'warn',
    CINEMESH_SERVER_BIND: '127.0.0.1:0',
    CINEMESH_SERVER_WEB_DIR: webDist,
    CINEMESH_STORAGE_DATA_DIR: dataDir,
    CINEMESH_INGEST_X264_PRESET: 'ultrafast',
    ...extra,
  };
  let database: string | undefined;
  if (databaseMode === 'postgres') {
    database = `cinemesh_e2e_${Math.random().toString(36).slice(2, 12)}`;
    psql(`CREATE DATABASE ${database}`);
    env.DATABASE_URL = `postgres://postgres@localhost/${database}?host=${postgresSocketDir}`;
  }
  return {
    env,
    cleanup: () => {
      if (database !== undefined) psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function psql(sql: string): void {
  execFileSync('psql', ['-h', postgresSocketDir, '-U', 'postgres', '-d', 'postgres', '-qc', sql], { stdio: 'pipe' });
}

/** Starts `cinemesh` and resolves once it prints the address it listens on. */
export async function startServer(extra: NodeJS.ProcessEnv = {}): Promise<TestServer> {
  const { env, cleanup } = freshEnvironment(extra);
  const child = spawn(binary, ['serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (process.env.CINEMESH_TEST_LOG !== undefined) process.stderr.write(chunk);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /cinemesh listening on (https?:\/\/\S+)/.exec(stdout);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`cinemesh exited with ${code}: ${stderr}`)));
  });
  if (child.pid === undefined) throw new Error('cinemesh started without a process id');
  return { url, pid: child.pid, dataDir: env.CINEMESH_STORAGE_DATA_DIR ?? '', env, stop: () => stopProcess(child).then(cleanup) };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timeout);
}

/** Flags that keep Chromium off the (closed) network and let WebRTC use loopback. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
  // WebRTC between pages on a loopback-only host needs both of these.
  '--allow-loopback-in-peer-connection',
  '--use-fake-ui-for-media-stream',
  // A synthetic camera, microphone and screen for the video call.
  '--use-fake-device-for-media-stream',
];

/**
 * Debian's Chromium, or `executablePath` (a wrapper that starts it elsewhere,
 * say), with `extraArgs`; `home` is its HOME (where it finds the NSS database
 * of certificates it trusts), this process's by default.
 */
export function launchBrowser(
  executablePath = process.env.CINEMESH_CHROMIUM ?? '/usr/bin/chromium',
  extraArgs: string[] = [],
  home?: string,
): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    env: home === undefined ? process.env : { ...process.env, HOME: home },
  });
}

/**
 * A non-loopback address of this host, where a page is not a secure context
 * (browsers trust only HTTPS and localhost). The test script adds one to its
 * private network namespace and names it in CINEMESH_E2E_PUBLIC_ADDRESS;
 * elsewhere the first external IPv4 address of the host, if it has one.
 */
export function publicAddress(): string | undefined {
  const named = process.env.CINEMESH_E2E_PUBLIC_ADDRESS;
  if (named !== undefined && named !== '') return named;
  const addresses = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  return addresses.find((a) => a.family === 'IPv4' && !a.internal)?.address;
}

/** Where the browser tests save screenshots (documented in the README). */
export const screenshotDir = join(repoRoot, 'test-artifacts/screenshots');

/**
 * A synthetic clip made with ffmpeg, for tests that ingest their own movie.
 * `noise` (0-100) adds grain that changes every frame, so the encoder needs
 * every bit its rung allows: a movie with real bitrate for the benchmarks.
 */
/**
 * A test clip: a pattern (with grain when `noise` > 0) and a tone. With
 * `audioLanguages` (ISO 639-2 codes such as eng, fre), one tone per language,
 * tagged, each an octave apart: a movie whose audio tracks become renditions.
 */
export function makeClip(path: string, seconds: number, size = '1280x720', noise = 0, audioLanguages: string[] = []): void {
  const video = `testsrc2=size=${size}:rate=25${noise > 0 ? `,noise=alls=${noise}:allf=t` : ''}`;
  const tones = audioLanguages.length === 0 ? [''] : audioLanguages;
  execFileSync('ffmpeg', [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', video,
    ...tones.flatMap((_, i) => ['-f', 'lavfi', '-i', `sine=frequency=${440 * 2 ** i}`]),
    ...(tones.length > 1 ? ['-map', '0:v', ...tones.flatMap((_, i) => ['-map', `${i + 1}:a`])] : []),
    ...audioLanguages.flatMap((language, i) => [`-metadata:s:a:${i}`, `language=${language}`]),
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', ...(noise > 0 ? ['-crf', '10'] : []),
    '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest',
    path,
  ]);
}

/** Settings for a server under browser tests: no demo movie, no STUN, its own included (peers meet on loopback). */
export const LOOPBACK_SERVER: NodeJS.ProcessEnv = {
  CINEMESH_DEMO_ENABLED: 'false',
  CINEMESH_TRACKER_ICE_SERVERS: '[]',
  CINEMESH_TURN_ENABLED: 'false',
};

/** Ingests a generated clip of `seconds` into a running server; returns the movie's id. */
export function ingestClip(server: TestServer, title: string, seconds: number, size = '640x360', noise = 0, audioLanguages: string[] = []): Promise<string> {
  const clip = join(server.dataDir, `${title.replace(/\W/g, '')}.mp4`);
  makeClip(clip, seconds, size, noise, audioLanguages);
  return ingestFile(server, clip, title);
}

/** Ingests a file with the server's own CLI; returns the movie's id. */
export async function ingestFile(server: TestServer, path: string, title: string): Promise<string> {
  execFileSync(binary, ['ingest', path, '--title', title], { env: server.env, stdio: 'pipe' });
  const page = (await (await fetch(`${server.url}/api/movies?q=${encodeURIComponent(title)}`)).json()) as { movies: { id: string }[] };
  return page.movies[0]?.id ?? '';
}
