import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Drives Debian's real LXC client (lxc-create -t download, lxc-start,
 * lxc-attach) against a kiln server, isolated in a directory of its own: the
 * containers (-P), the download cache (LXC_CACHE_PATH) and the wget CA trust
 * (WGETRC). The same way as an LXC user with a private CA would.
 */
export class LxcClient {
  readonly lxcPath: string;
  readonly env: Record<string, string>;
  readonly confFile: string;

  private constructor(readonly dir: string) {
    this.lxcPath = path.join(dir, 'containers');
    this.confFile = path.join(dir, 'ct.conf');
    this.env = { WGETRC: path.join(dir, 'wgetrc'), LXC_CACHE_PATH: path.join(dir, 'cache') };
  }

  static async create(dir: string, caPath: string): Promise<LxcClient> {
    const c = new LxcClient(dir);
    await mkdir(c.lxcPath, { recursive: true });
    await mkdir(c.env.LXC_CACHE_PATH as string, { recursive: true });
    await writeFile(c.env.WGETRC as string, `ca_certificate = ${caPath}\n`);
    // This machine has no lxcbr0 bridge and no AppArmor.
    await writeFile(c.confFile, 'lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n');
    return c;
  }

  private run(cmd: string, args: string[], timeout = 300_000) {
    return execa(cmd, args, { env: this.env, reject: false, all: true, timeout });
  }

  createFromServer(name: string, server: string, dist: string, release: string, arch: string, variant = 'default') {
    return this.run('lxc-create', [
      '-P',
      this.lxcPath,
      '-n',
      name,
      '-f',
      this.confFile,
      '-t',
      'download',
      '--',
      '--server',
      server,
      '-d',
      dist,
      '-r',
      release,
      '-a',
      arch,
      '--variant',
      variant,
    ]);
  }

  start(name: string) {
    return this.run('lxc-start', [
      '-P',
      this.lxcPath,
      '-n',
      name,
      '-d',
      '-l',
      'INFO',
      '-o',
      path.join(this.dir, `${name}.log`),
    ]);
  }

  wait(name: string, state: string, seconds: number) {
    return this.run('lxc-wait', ['-P', this.lxcPath, '-n', name, '-s', state, '-t', String(seconds)]);
  }

  attach(name: string, argv: string[]) {
    return this.run('lxc-attach', ['-P', this.lxcPath, '-n', name, '--', ...argv], 60_000);
  }

  rootfs(name: string): string {
    return path.join(this.lxcPath, name, 'rootfs');
  }

  /** Stops and destroys, whatever state the container is in. */
  async destroy(name: string): Promise<void> {
    await this.run('lxc-stop', ['-P', this.lxcPath, '-n', name, '-k'], 60_000);
    await this.run('lxc-destroy', ['-P', this.lxcPath, '-n', name, '-f'], 120_000);
  }
}
