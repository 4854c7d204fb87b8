import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { customize } from '../../src/customize/index.js';
import { StepError } from '../../src/util/errors.js';
import { MemorySink } from '../../src/util/events.js';
import { busyboxRoot, outputOf, planFor } from './fixtures.js';

/**
 * Actions run inside the build container through their shebang, with the
 * definition's environment and nothing of the host's, and their output is
 * part of the build log under the step's name.
 */
describe('actions', () => {
  let tmp: string;
  let root: string;
  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'kiln-actions-'));
    root = busyboxRoot(path.join(tmp, 'rootfs'));
  });
  afterAll(async () => {
    await rm(tmp, { recursive: true, force: true });
  });

  const definition = (environment: string, actions: string) => `
image:
  distribution: testos
  release: "2"
  variant: small
source:
  downloader: busybox
environment:
${environment}
actions:
${actions}
packages:
  custom_manager:
    clean: {cmd: "true"}
    install: {cmd: "true"}
    remove: {cmd: "true"}
    refresh: {cmd: "true"}
    update: {cmd: "true"}
`;
  const printEnv = `- trigger: post-unpack
  action: |-
    #!/bin/sh
    env | sort`;

  it('see the defaults and the variables whose filters match, never the host environment', async () => {
    process.env.KILN_HOST_ONLY = 'leaked';
    const sink = new MemorySink();
    const yaml = definition(
      `  variables:
  - {key: GREETING, value: hello}
  - {key: ONLY_RELEASE_1, value: no, releases: ["1"]}
  - {key: FOR_SMALL, value: yes, variants: [small]}`,
      printEnv,
    );
    await customize({ plan: planFor(yaml, path.join(tmp, 'env.yaml')), rootfs: root, sink });
    const env = outputOf(sink, 'post-unpack[0]');
    expect(env).toEqual(
      expect.arrayContaining([
        'PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin',
        'SHELL=/bin/sh',
        'TERM=xterm',
        'DEBIAN_FRONTEND=noninteractive',
        'GREETING=hello',
        'FOR_SMALL=yes',
      ]),
    );
    expect(env.join('\n')).not.toMatch(/ONLY_RELEASE_1|KILN_HOST_ONLY|leaked|HOME=\/root/);
    delete process.env.KILN_HOST_ONLY;
  });

  it('clear_defaults drops PATH, SHELL, TERM and DEBIAN_FRONTEND and keeps the definition variables', async () => {
    const sink = new MemorySink();
    const yaml = definition('  clear_defaults: true\n  variables:\n  - {key: ONLY, value: this}', printEnv);
    await customize({ plan: planFor(yaml, path.join(tmp, 'clear.yaml')), rootfs: root, sink });
    const env = outputOf(sink, 'post-unpack[0]').join('\n');
    expect(env).toContain('ONLY=this');
    expect(env).not.toMatch(/^(TERM|SHELL|DEBIAN_FRONTEND|PATH=\/sbin:\/bin:\/usr\/sbin)/m);
  });

  it('pongo: true renders the script with the definition before it runs', async () => {
    const sink = new MemorySink();
    const yaml = definition(
      '  variables: []',
      `- trigger: post-files
  pongo: true
  action: |-
    #!/bin/sh
    echo "release {{ image.release }} variant {{ image.variant }}"`,
    );
    await customize({ plan: planFor(yaml, path.join(tmp, 'pongo.yaml')), rootfs: root, sink });
    expect(outputOf(sink, 'post-files[0]')).toEqual(['release 2 variant small']);
  });

  it('an action past its timeout is killed and the build stops with code 124, naming the step', async () => {
    const sink = new MemorySink();
    const yaml = definition(
      '  variables: []',
      `- trigger: post-packages
  timeout: 1
  action: |-
    #!/bin/sh
    echo "started"
    sleep 60
    echo "never"`,
    );
    const started = Date.now();
    const err = await customize({ plan: planFor(yaml, path.join(tmp, 'timeout.yaml')), rootfs: root, sink }).catch(
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(err).toBeInstanceOf(StepError);
    expect((err as StepError).message).toBe('step post-packages[0]: timed out after 1s');
    expect((err as StepError).exitCode).toBe(124);
    expect(outputOf(sink, 'post-packages[0]')).toEqual(['started']);
  });

  it('the shebang is resolved inside the image: an interpreter only the host has fails the step', async () => {
    const yaml = definition(
      '  variables: []',
      `- trigger: post-unpack\n  action: |-\n    #!/usr/bin/python3\n    print("ran on the host")`,
    );
    const sink = new MemorySink();
    const err = await customize({ plan: planFor(yaml, path.join(tmp, 'interp.yaml')), rootfs: root, sink }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StepError);
    expect((err as StepError).step).toBe('post-unpack[0]');
    expect(outputOf(sink).join('\n')).not.toContain('ran on the host');
  });
});
