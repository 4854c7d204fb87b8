import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';

export interface HubOptions {
  maxConnections: number;
  /** Time a new connection has to send its first byte. */
  firstByteTimeoutMs: number;
}

/**
 * Accepts TCP connections for both protocols on every listener: a TLS
 * ClientHello starts with byte 0x16, anything else is plain HTTP. LXD and
 * Incus fetch items over http on the https URL's own port first, so
 * answering both there saves them a failed attempt. All listeners share one
 * connection limit; connections over it are closed at once.
 */
export class ConnectionHub {
  private readonly sockets = new Set<Socket>();
  private readonly listeners: NetServer[] = [];
  private closing = false;

  constructor(
    private readonly http: HttpServer,
    private readonly https: HttpsServer,
    private readonly opts: HubOptions,
  ) {
    // The inner servers never listen themselves; 'listening' starts their
    // header/request timeout checks.
    http.emit('listening');
    https.emit('listening');
  }

  get connections(): number {
    return this.sockets.size;
  }

  async listen(host: string, port: number): Promise<number> {
    const server = createServer({ noDelay: true }, (s) => this.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.listeners.push(server);
    return (server.address() as AddressInfo).port;
  }

  private accept(socket: Socket): void {
    if (this.closing || this.sockets.size >= this.opts.maxConnections) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.setTimeout(this.opts.firstByteTimeoutMs, () => socket.destroy());
    socket.once('data', (chunk: Buffer) => {
      socket.setTimeout(0);
      socket.pause();
      socket.unshift(chunk);
      (chunk[0] === 0x16 ? this.https : this.http).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  }

  /**
   * Stops accepting, lets requests in flight finish (responses carry
   * `Connection: close` meanwhile, see the request handler), and destroys
   * whatever is left after `graceMs`.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const stopped = Promise.all(this.listeners.map((l) => new Promise<void>((r) => l.close(() => r()))));
    for (const s of [this.http, this.https]) s.close(() => undefined);
    const deadline = Date.now() + graceMs;
    while (this.sockets.size > 0 && Date.now() < deadline) {
      this.http.closeIdleConnections();
      this.https.closeIdleConnections();
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const s of this.sockets) s.destroy();
    await stopped;
  }
}
