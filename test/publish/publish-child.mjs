// A publisher in its own process, so tests can SIGKILL it at any point.
// Usage: node publish-child.mjs TREE STAGING...
import { readFile } from 'node:fs/promises';
import { publishBuild } from '../../dist/publish/index.js';

const [tree, ...stagings] = process.argv.slice(2);
process.stdout.write('ready\n');
for (const stagingDir of stagings) {
  const record = JSON.parse(await readFile(`${stagingDir}/build.json`, 'utf8'));
  await publishBuild({ tree, stagingDir, record });
  process.stdout.write(`published ${record.serial}\n`);
}
