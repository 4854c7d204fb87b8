import net from 'node:net';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { kilnBackground } from './kiln.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The CA certificate `kiln serve` made for a tree. */
export async function findCa(tree: string): Promise<string> {
  const dir = path.join(tree, '.kiln', 'tls');
  const pems = (await readdir(dir)).filter((f) => /ca.*\.(pem|crt)$/.test(f));
  if (pems.length === 0) throw new Error(`no CA certificate in ${dir}`);
  return path.join(dir, pems[0] as string);
}

export interface ServedTree {
  port: number;
  /** `127.0.0.1:PORT`, what `lxc-create -t download -- --server` takes. */
  server: string;
  ca: string;
  stop(): Promise<void>;
}

/** Starts the real `kiln serve TREE` on a free loopback port. */
export async function serveTree(tree: string): Promise<ServedTree> {
  const port = await freePort();
  const child = kilnBackground(['serve', tree, '--listen', `127.0.0.1:${port}`]);
  await waitForPort(port, 30_000);
  return {
    port,
    server: `127.0.0.1:${port}`,
    ca: await findCa(tree),
    stop: async () => {
      child.kill('SIGTERM');
      await child.catch(() => undefined);
    },
  };
}
