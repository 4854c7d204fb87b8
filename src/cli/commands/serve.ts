import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../../util/errors.js';
import { parseCommandArgs, usageError } from '../args.js';
import { startServer } from '../../serve/index.js';
import { lxcCreateCommand, remoteAddCommand, type PublicAddress } from '../../serve/client-commands.js';
import { readCatalog } from '../../serve/read-catalog.js';

const USAGE =
  'kiln serve [DIR] [--listen HOST:PORT] [--http HOST:PORT] [--cert FILE --key FILE] [--prefix /PATH] [--access-log FILE|-] [--max-connections N]';

/** `HOST:PORT`, `[V6]:PORT`, `:PORT` or `PORT`. */
export function parseHostPort(text: string, option: string): { host: string; port: number } {
  const m =
    /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text) ??
    (/^(\d{1,5})$/.test(text) ? [text, undefined, '', text] : null);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535))
    throw new UsageError(`${option} '${text}': expected HOST:PORT, [IPV6]:PORT or PORT (port 0 picks a free one)`);
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

const command: Command = {
  name: 'serve',
  summary: `Serve an image tree over HTTPS (and plain HTTP on the same port, plus --http) to LXC, LXD and Incus clients,
with a web catalog at /. Without --cert/--key, a local CA is made once under DIR/.kiln/tls/ and reused.
Runs until SIGINT or SIGTERM, then lets requests in flight finish.`,
  usage: USAGE,
  async run(ctx: CommandContext): Promise<number> {
    const { values, positionals } = parseCommandArgs(
      ctx.argv,
      {
        listen: { type: 'string', default: '127.0.0.1:8443' },
        http: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        prefix: { type: 'string' },
        'access-log': { type: 'string' },
        'max-connections': { type: 'string' },
      },
      USAGE,
    );
    if (positionals.length > 1) throw usageError(`serve takes one directory, got ${positionals.length}`, USAGE);
    const maxConnections = values['max-connections'] === undefined ? undefined : Number(values['max-connections']);
    if (maxConnections !== undefined && !(Number.isInteger(maxConnections) && maxConnections > 0))
      throw new UsageError(`--max-connections '${values['max-connections']}': expected a positive integer`);
    const listen = parseHostPort(values.listen, '--listen');
    const tree = positionals[0] ?? '.';
    const server = await startServer({
      tree,
      listen,
      httpListen: values.http ? parseHostPort(values.http, '--http') : undefined,
      cert: values.cert,
      key: values.key,
      prefix: values.prefix,
      accessLog: values['access-log'],
      maxConnections,
      sink: ctx.sink,
    });
    // Handlers go in before anything is printed: whoever reads the output may signal at once.
    const stopped = new Promise<string>((resolve) => {
      const stop = (sig: string) => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        resolve(sig);
      };
      const onInt = () => stop('SIGINT');
      const onTerm = () => stop('SIGTERM');
      process.once('SIGINT', onInt);
      process.once('SIGTERM', onTerm);
    });
    const shownHost = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
    const address: PublicAddress = { host: shownHost, port: server.httpsPort, prefix: server.prefix };
    const catalog = await readCatalog(tree);
    const lxcProduct = catalog.products.find((p) => p.latest.formats.includes('lxc'));
    const example = lxcProduct ?? { distribution: 'DIST', release: 'RELEASE', arch: 'ARCH', variant: 'default' };
    const lxcCreate = lxcCreateCommand(example, address, { wgetrc: server.wgetrcPath, name: 'NAME' });
    const remoteAdd = `${server.caPath ? `SSL_CERT_FILE=${server.caPath} ` : ''}${remoteAddCommand('lxc', address)}`;
    const hostUrl = address.host.includes(':') ? `[${address.host}]` : address.host;
    if (ctx.json) {
      ctx.sink.emit({
        type: 'result',
        status: 'ok',
        message: 'serving',
        https: `https://${hostUrl}:${server.httpsPort}${server.prefix}/`,
        http: server.httpPort === undefined ? undefined : `http://${hostUrl}:${server.httpPort}${server.prefix}/`,
        caPath: server.caPath,
        wgetrc: server.wgetrcPath,
        lxcCreate,
        remoteAdd,
      });
    } else {
      const lines = [
        `kiln serve: ${tree}`,
        `  catalog:   https://${hostUrl}:${server.httpsPort}${server.prefix}/`,
        ...(server.httpPort === undefined
          ? []
          : [`  plain:     http://${hostUrl}:${server.httpPort}${server.prefix}/`]),
        ...(server.caPath ? [`  CA:        ${server.caPath}`, `  wgetrc:    ${server.wgetrcPath}`] : []),
        '',
        'LXC:',
        `  ${lxcCreate}`,
        'LXD (Incus: same with incus):',
        `  ${remoteAdd}`,
        '',
        'Stop with Ctrl-C (SIGINT) or SIGTERM.',
      ];
      ctx.stdout.write(`${lines.join('\n')}\n`);
    }
    const signal = await stopped;
    ctx.sink.emit({ type: 'log', level: 'info', message: `${signal}: finishing requests in flight` });
    await server.close();
    if (!ctx.json) ctx.stdout.write('kiln serve: stopped\n');
    return 0;
  },
};

export default command;
