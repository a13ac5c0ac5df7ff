// Writes a gzip copy beside each built text file (`index-abc.js.gz`); the
// server sends it to browsers that take gzip. hls.js alone is 578 kB, 180 kB
// gzipped: on a server whose uplink is a few Mbit/s, six guests loading the
// player at once wait seconds for the difference. Compressed once at build
// time, at the best level, rather than on every request.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import type { Plugin } from 'vite';

const COMPRESSIBLE = /\.(js|mjs|css|html|svg|json)$/;
/** A copy that saves less than this share is not worth a second file. */
const MIN_SAVING = 0.1;

export function precompress(): Plugin {
  return {
    name: 'cinemesh-precompress',
    apply: 'build',
    writeBundle(options, bundle) {
      const dir = options.dir ?? 'dist';
      for (const [file, output] of Object.entries(bundle)) {
        if (!COMPRESSIBLE.test(file)) continue;
        const source = output.type === 'chunk' ? output.code : output.source;
        const raw = typeof source === 'string' ? Buffer.from(source) : Buffer.from(source);
        const gzipped = gzipSync(raw, { level: 9 });
        if (gzipped.length <= raw.length * (1 - MIN_SAVING)) writeFileSync(join(dir, `${file}.gz`), gzipped);
      }
    },
  };
}
