// A TCP proxy that cuts every connection through it once, as soon as the
// bytes sent towards the server pass a threshold: a Wi-Fi drop or a closed
// laptop lid in the middle of an upload. It keeps accepting afterwards, so
// the client can reconnect and resume.
import { createServer, connect, type Socket } from 'node:net';

const PATCH_OFFSET = /^PATCH [^\r\n]*\r\n(?:[^\r\n]+\r\n)*?upload-offset: *(\d+)/i;

export interface CuttingProxy {
  /** `http://127.0.0.1:PORT`, the page's origin. */
  url: string;
  /** Bytes sent towards the server when the cut happened, once it has. */
  cutAt: () => number | undefined;
  /** The `Upload-Offset` of each tus PATCH that went through, in order. */
  patchOffsets: () => number[];
  stop: () => Promise<void>;
}

export async function startCuttingProxy(upstreamPort: number, cutAfterBytes: number): Promise<CuttingProxy> {
  let sent = 0;
  let cutAt: number | undefined;
  const patchOffsets: number[] = [];
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      // A request's head starts a chunk on its connection (the body follows it).
      const head = PATCH_OFFSET.exec(chunk.subarray(0, 4096).toString('latin1'));
      if (head?.[1] !== undefined) patchOffsets.push(Number(head[1]));
      if (!upstream.write(chunk)) client.pause();
      if (cutAt === undefined && sent >= cutAfterBytes) {
        cutAt = sent;
        for (const socket of open) socket.destroy();
      }
    });
    upstream.on('drain', () => client.resume());
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    cutAt: () => cutAt,
    patchOffsets: () => [...patchOffsets],
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
