import { isIP } from 'node:net';

/** Where clients reach the server: host as typed by users, HTTPS port, optional path prefix (`/mirror`). */
export interface PublicAddress {
  host: string;
  port: number;
  prefix: string;
}

export interface ProductName {
  distribution: string;
  release: string;
  arch: string;
  variant: string;
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function hostForUrl(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** `--server` of the LXC download template: no scheme, optional port and path prefix. */
export function lxcServerArg(a: PublicAddress): string {
  return `${hostForUrl(a.host)}:${a.port}${a.prefix}`;
}

export function baseUrl(a: PublicAddress): string {
  return `https://${hostForUrl(a.host)}:${a.port}${a.prefix}`;
}

export function containerName(p: ProductName): string {
  return (
    `${p.distribution}-${p.release}`
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'c1'
  );
}

/** The exact `lxc-create -t download` line; WGETRC points wget at the local CA when there is one. */
export function lxcCreateCommand(
  p: ProductName,
  a: PublicAddress,
  opts: { wgetrc?: string | undefined; name?: string | undefined } = {},
): string {
  const parts = [
    ...(opts.wgetrc ? [`WGETRC=${shellQuote(opts.wgetrc)}`] : []),
    'lxc-create',
    '-n',
    shellQuote(opts.name ?? containerName(p)),
    ...downloadTemplateArgs(shellQuote(lxcServerArg(a)), p),
  ];
  return parts.join(' ');
}

/** `lxc-create` arguments from `-t download` on: the download template's server and product. */
export function downloadTemplateArgs(server: string, p: ProductName): string[] {
  const args = ['-t', 'download', '--', '--server', server, '-d', p.distribution, '-r', p.release, '-a', p.arch];
  if (p.variant !== 'default') args.push('--variant', p.variant);
  return args;
}

export function remoteAddCommand(tool: 'lxc' | 'incus', a: PublicAddress, remote = 'kiln'): string {
  return `${tool} remote add ${remote} ${shellQuote(baseUrl(a))} --protocol=simplestreams --public`;
}

export function launchCommand(tool: 'lxc' | 'incus', alias: string, name: string, remote = 'kiln'): string {
  return `${tool} launch ${remote}:${alias} ${shellQuote(name)}`;
}
