import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishBuild } from '../../src/publish/index.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { makeBuild, serials, tempDir } from '../publish/fixture.js';
import { get, rawRequest } from './raw-http.js';

/** The web catalog at `/`, in Debian's Chromium driven headless by playwright-core. */
describe('web catalog', () => {
  let work: string;
  let server: RunningServer;
  const [s1, s2, s3] = serials(3, Date.UTC(2026, 3, 5, 12, 0));

  let profiles = 0;
  /** A browser with a fresh profile (--user-data-dir) each time. */
  function launch(opts: { javaScriptEnabled: boolean }): Promise<BrowserContext> {
    return chromium.launchPersistentContext(join(work, `chromium-profile-${profiles++}`), {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 1400 },
      javaScriptEnabled: opts.javaScriptEnabled,
    });
  }

  beforeAll(async () => {
    work = await tempDir('catalog');
    const tree = join(work, 'tree');
    for (const o of [
      { serial: s1!, dist: 'kilntest', release: '1' },
      { serial: s2!, dist: 'kilntest', release: '1', variant: 'cloud' },
      { serial: s3!, dist: 'alpha', release: 'edge', incus: false, userConfig: false },
    ]) {
      const b = await makeBuild(work, o);
      await publishBuild({ tree, stagingDir: b.staging, record: b.record });
    }
    server = await startServer({ tree, listen: { host: '127.0.0.1', port: 0 } });
  });
  afterAll(async () => {
    await server?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('shows every product with its latest serial and the exact lxc-create, lxc launch and incus launch commands; the filter box narrows the list', async () => {
    const context = await launch({ javaScriptEnabled: true });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(`https://127.0.0.1:${server.httpsPort}/`);
      const products = page.locator('article.product');
      await expect.poll(() => products.count()).toBe(3);
      expect(await page.locator('#count').textContent()).toBe('3 of 3 products');

      const kt = page.locator('article[data-product="kilntest:1:amd64:default"]');
      expect(await kt.locator('.serial').textContent()).toBe(s1);
      expect(await kt.locator('.date').textContent()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d UTC$/);
      expect(await kt.locator('code.lxc-create').textContent()).toBe(
        `WGETRC=${server.wgetrcPath} lxc-create -n kilntest-1 -t download -- --server 127.0.0.1:${server.httpsPort} -d kilntest -r 1 -a amd64`,
      );
      expect(await kt.locator('code.incus-launch').textContent()).toBe('incus launch kiln:kilntest/1 kilntest-1');
      expect(await kt.locator('code.lxc-launch').textContent()).toBe('lxc launch kiln:kilntest/1 kilntest-1');
      expect(await kt.locator('.formats').textContent()).toBe('lxcsquashfsroot.tar.xzunprivileged');
      expect(await kt.locator('ul.files a', { hasText: 'rootfs.squashfs' }).getAttribute('href')).toBe(
        `/images/kilntest/1/amd64/default/${s1}/rootfs.squashfs`,
      );

      const cloud = page.locator('article[data-product="kilntest:1:amd64:cloud"]');
      expect(await cloud.locator('code.lxc-create').textContent()).toMatch(
        / -d kilntest -r 1 -a amd64 --variant cloud$/,
      );
      expect(await cloud.locator('code.incus-launch').textContent()).toBe(
        'incus launch kiln:kilntest/1/cloud kilntest-1',
      );
      const alpha = page.locator('article[data-product="alpha:edge:amd64:default"]');
      expect(await alpha.locator('code.incus-launch').count()).toBe(0);
      expect(await page.locator('code.incus-remote').textContent()).toBe(
        `incus remote add kiln https://127.0.0.1:${server.httpsPort} --protocol=simplestreams --public`,
      );
      expect(await page.locator('code.lxc-remote').textContent()).toBe(
        `lxc remote add kiln https://127.0.0.1:${server.httpsPort} --protocol=simplestreams --public`,
      );

      await page.fill('#filter', 'cloud');
      expect(await page.locator('#count').textContent()).toBe('1 of 3 products');
      expect(await cloud.isVisible()).toBe(true);
      expect(await kt.isVisible()).toBe(false);
      await page.fill('#filter', 'alpha edge');
      expect(await alpha.isVisible()).toBe(true);
      expect(await page.locator('article.product:visible').count()).toBe(1);
      await page.fill('#filter', '');
      expect(await page.locator('article.product:visible').count()).toBe(3);

      // The link to a file with ':' in its path downloads it.
      const res = await page.request.get(
        `https://127.0.0.1:${server.httpsPort}${await kt.locator('ul.files a', { hasText: 'SHA256SUMS' }).getAttribute('href')}`,
      );
      expect(res.status()).toBe(200);

      await mkdir('test-artifacts', { recursive: true });
      await page.screenshot({ path: 'test-artifacts/catalog.png', fullPage: true });
      expect(problems).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('is complete without JavaScript, and the filter form then filters on the server', async () => {
    const context = await launch({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto(`https://127.0.0.1:${server.httpsPort}/`);
      expect(await page.locator('article.product').count()).toBe(3);
      expect(await page.locator('code.lxc-create').count()).toBe(3);
      await page.fill('#filter', 'alpha');
      await page.click('button[type=submit]');
      await page.waitForURL(/\?q=alpha/);
      expect(await page.locator('article.product').count()).toBe(1);
      expect(await page.locator('#count').textContent()).toBe('1 of 3 products');
    } finally {
      await context.close();
    }
  });

  it('names the HTTPS port in its commands even when read over plain HTTP', async () => {
    const res = await rawRequest(server.httpsPort, get('/'));
    expect(res.body.toString()).toContain(`--server 127.0.0.1:${server.httpsPort} -d kilntest`);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'sha256-/);
  });
});
