// HTTPS in front of a test server, as a deployment would have it: Debian's
// nginx running deploy/nginx.conf (the compose file's proxy) with a TLS
// listener, a certificate made for the address at hand, and the server as its
// only upstream. The server trusts the proxy's X-Forwarded-For, so it still
// sees each viewer's own address.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';

import { repoRoot } from './harness';

export interface TlsProxy {
  /** `https://ADDRESS`, the page's origin. */
  url: string;
  /** The certificate's public key hash, for Chromium's --ignore-certificate-errors-spki-list. */
  spki: string;
  stop: () => void;
}

/** A self-signed certificate for `address` (an IP) in `dir`; returns its paths and SPKI hash. */
export function certificateFor(dir: string, address: string): { cert: string; key: string; spki: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${address}`, '-addext', `subjectAltName=IP:${address}`, '-keyout', key, '-out', cert,
  ], { stdio: 'pipe' });
  const der = execFileSync('openssl', ['x509', '-in', cert, '-pubkey', '-noout'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pub = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: der, stdio: ['pipe', 'pipe', 'pipe'] });
  const spki = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: pub, stdio: ['pipe', 'pipe', 'pipe'] }).toString('base64');
  return { cert, key, spki };
}

/** deploy/nginx.conf with `upstream` as its one server and a TLS listener on `address`:443. */
function proxyConfig(upstream: string, address: string, cert: string, key: string): string {
  const config = readFileSync(join(repoRoot, 'deploy/nginx.conf'), 'utf8');
  const start = config.indexOf('# BEGIN upstream servers');
  const end = config.indexOf('# END upstream servers');
  if (start < 0 || end < 0 || !config.includes('listen 8080;')) throw new Error('deploy/nginx.conf lost its markers');
  return `${config.slice(0, start)}server ${upstream};\n        ${config.slice(end)}`.replace(
    'listen 8080;',
    `listen ${address}:443 ssl;\n        ssl_certificate ${cert};\n        ssl_certificate_key ${key};`,
  );
}

/** Starts nginx on `address`:443 in front of `upstream` (host:port). */
export async function startTlsProxy(address: string, upstream: string): Promise<TlsProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'tls-proxy-'));
  const { cert, key, spki } = certificateFor(dir, address);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, proxyConfig(upstream, address, cert, key));
  const child: ChildProcess = spawn(
    'nginx',
    ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const url = `https://${address}`;
  const deadline = Date.now() + 10_000;
  while (!(await listening(address, 443))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start on ${url}: ${log}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, spki, stop: () => child.kill('SIGTERM') };
}

function listening(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}
