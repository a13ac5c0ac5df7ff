// Browsers in the network lab (`services/netlab`): homes behind NAT routers on
// shaped links, and a server host on the lab's internet.
//
// The test process itself runs inside the lab's server host (the scripts that
// start a lab run it with `netlab exec server -- ...` and set NETLAB_RUN_ID),
// so it reaches the server it starts there. STUN and TURN come from coturn in
// the same host. Each browser is Debian's Chromium started inside a client
// host by a wrapper script that enters its network namespace: Playwright
// drives it over a pipe, which needs no network.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { Browser } from 'playwright-core';

import { launchBrowser, repoRoot } from './harness';

export interface LabHost {
  name: string;
  netns: string;
  address: string;
  /** Clients: the address the internet sees (their router's). */
  public_address?: string;
  nat?: 'full-cone' | 'port-restricted' | 'symmetric';
}

export interface Lab {
  runId: string;
  profile: string;
  server: LabHost;
  /** Client hosts, home by home (`home1-c1`, `home2-c1`, ...). */
  clients: LabHost[];
}

const netlabBinary = process.env.NETLAB_BIN ?? join(repoRoot, 'target/debug/netlab');

/** Runs `netlab ARGS` for the current lab; returns what it printed. */
export function netlab(args: string[]): string {
  return execFileSync(netlabBinary, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The lab this process runs in (NETLAB_RUN_ID), or undefined outside one. */
export function currentLab(): Lab | undefined {
  const runId = process.env.NETLAB_RUN_ID;
  if (runId === undefined || runId === '') return undefined;
  const state = JSON.parse(netlab(['hosts', '--json', '--run-id', runId])) as { profile: string; hosts: LabHost[] };
  const server = state.hosts.find((h) => h.name === 'server');
  if (server === undefined) throw new Error(`lab ${runId} has no server host`);
  const clients = state.hosts.filter((h) => /^home\d+-c\d+$/.test(h.name));
  return { runId, profile: state.profile, server, clients };
}

export interface Turn {
  /** `CINEMESH_TRACKER_*` settings that point browsers at it. */
  serverEnv: NodeJS.ProcessEnv;
  stop: () => void;
}

/**
 * coturn on the server host as `docker compose` runs it: STUN always, and
 * with `relay` TURN (UDP) with the REST credentials the server makes for each
 * viewer from the secret they share (`use-auth-secret`).
 * Its listening port is fixed (3478), so one lab runs one.
 */
export async function startTurn(lab: Lab, relay: boolean): Promise<Turn> {
  const address = lab.server.address;
  const secret = 'lab-turn-secret';
  const dir = mkdtempSync(join(tmpdir(), 'coturn-'));
  const child: ChildProcess = spawn(
    'turnserver',
    [
      '-n', '--no-cli', '--no-tls', '--no-dtls', '--log-file', 'stdout', '--simple-log',
      '--listening-ip', address, '--relay-ip', address, '--external-ip', address,
      '--listening-port', '3478', '--min-port', '49152', '--max-port', '65535',
      '--realm', 'cinemesh.lab', '--fingerprint', '--use-auth-secret', '--static-auth-secret', secret,
      // Peers live on the lab's private-looking addresses; coturn refuses those by default.
      '--allow-loopback-peers', '--no-multicast-peers',
      '--pidfile', join(dir, 'turnserver.pid'), '--userdb', join(dir, 'turndb'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stdout?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const deadline = Date.now() + 10_000;
  while (!/Total General servers/.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`coturn did not start: ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const urls = [`stun:${address}:3478`, ...(relay ? [`turn:${address}:3478?transport=udp`] : [])];
  return {
    serverEnv: {
      // coturn holds port 3478 on the server host: the lab measures with it.
      CINEMESH_TURN_ENABLED: 'false',
      CINEMESH_TRACKER_ICE_SERVERS: JSON.stringify(urls),
      ...(relay ? { CINEMESH_TRACKER_TURN_SECRET: secret } : {}),
    },
    stop: () => child.kill('SIGTERM'),
  };
}

/** Chromium inside `host`'s namespace, with `extraArgs`. */
export function launchBrowserIn(host: LabHost, extraArgs: string[] = []): Promise<Browser> {
  const dir = mkdtempSync(join(tmpdir(), `chromium-${host.name}-`));
  const wrapper = join(dir, 'chromium');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${host.netns} /usr/bin/chromium "$@"\n`);
  chmodSync(wrapper, 0o755);
  return launchBrowser(wrapper, extraArgs);
}
