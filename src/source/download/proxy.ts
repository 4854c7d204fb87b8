import http from 'node:http';
import https from 'node:https';
import { HttpsProxyAgent } from 'hpagent';

/** The proxy URL for `target` from http_proxy/https_proxy/no_proxy (either case), or undefined. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv = process.env): URL | undefined {
  const scheme = target.protocol.replace(/:$/, '');
  const raw =
    scheme === 'https'
      ? (env.https_proxy ?? env.HTTPS_PROXY)
      : scheme === 'http'
        ? (env.http_proxy ?? env.HTTP_PROXY)
        : undefined;
  if (!raw) return undefined;
  if (bypassed(target, env.no_proxy ?? env.NO_PROXY ?? '')) return undefined;
  return new URL(raw.includes('://') ? raw : `http://${raw}`);
}

/** curl's no_proxy rules: `*`, exact hosts, domain suffixes (with or without a leading dot), host:port. */
function bypassed(target: URL, noProxy: string): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (let entry of noProxy.split(/[\s,]+/).filter(Boolean)) {
    entry = entry.toLowerCase();
    if (entry === '*') return true;
    let entryPort: string | undefined;
    const m = /^(.*):(\d+)$/.exec(entry);
    if (m && !entry.includes('::')) {
      entry = m[1]!;
      entryPort = m[2];
    }
    if (entryPort && entryPort !== port) continue;
    entry = entry.replace(/^\*?\./, '');
    if (host === entry || host.endsWith(`.${entry}`)) return true;
  }
  return false;
}

interface AgentInternals {
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void;
}

/**
 * Plain-HTTP forwarding through a proxy: the request goes to the proxy in
 * absolute form (what apt proxies and caches expect), not as a CONNECT tunnel.
 */
class ForwardingAgent extends http.Agent {
  constructor(private readonly proxy: URL) {
    super({ keepAlive: true });
  }
  addRequest(req: http.ClientRequest, options: http.RequestOptions): void {
    const host = options.host ?? options.hostname ?? 'localhost';
    const port = options.port ? `:${options.port}` : '';
    req.path = `http://${host.includes(':') ? `[${host}]` : host}${port}${req.path}`;
    if (this.proxy.username || this.proxy.password) {
      const cred = `${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`;
      req.setHeader('proxy-authorization', `Basic ${Buffer.from(cred).toString('base64')}`);
    }
    const proxied: http.RequestOptions = {
      ...options,
      host: this.proxy.hostname,
      hostname: this.proxy.hostname,
      port: Number(this.proxy.port || 80),
    };
    (http.Agent.prototype as unknown as AgentInternals).addRequest.call(this, req, proxied);
  }
}

const agents = new Map<string, http.Agent>();

/** got's `agent` option for `target`: a proxy agent, or undefined for a direct connection. */
export function agentFor(target: URL): { http?: http.Agent; https?: https.Agent } | undefined {
  const proxy = proxyFor(target);
  if (!proxy) return undefined;
  const key = `${target.protocol}${proxy.href}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = target.protocol === 'https:' ? new HttpsProxyAgent({ proxy, keepAlive: true }) : new ForwardingAgent(proxy);
    agents.set(key, agent);
  }
  return target.protocol === 'https:' ? { https: agent as https.Agent } : { http: agent };
}

/**
 * The connection options of a got request: the proxy agent and the abort
 * signal, each only when there is one (got's option types take no explicit
 * `undefined`).
 */
export function connectionFor(
  target: URL,
  signal: AbortSignal | undefined,
): { agent?: { http?: http.Agent; https?: https.Agent }; signal?: AbortSignal } {
  const agent = agentFor(target);
  return { ...(agent && { agent }), ...(signal && { signal }) };
}
