import { spawn, spawnSync } from 'node:child_process';

/**
 * Runs a command under python's getrusage, which reports the child's peak
 * RSS: the memory bound of the hostile-input tests is measured, not guessed.
 */
const WRAP = [
  'import resource, subprocess, sys',
  'r = subprocess.run(sys.argv[1:])',
  'sys.stderr.write("PEAK_RSS_KB=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)',
  'sys.exit(r.returncode)',
].join('\n');

export interface Measured {
  code: number | null;
  /** stderr of the command, one entry a line, without the measurement. */
  stderr: string[];
  peakKb: number;
}

export interface MeasureOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeout?: number;
}

function measured(code: number | null, stderr: string): Measured {
  const lines = stderr.split('\n').filter((l) => l !== '');
  const peakKb = Number(lines.pop()?.replace('PEAK_RSS_KB=', ''));
  return { code, stderr: lines, peakKb };
}

export function peakRssSync(argv: string[], opts: MeasureOptions): Measured {
  const r = spawnSync('python3', ['-c', WRAP, ...argv], { encoding: 'utf8', timeout: 120_000, ...opts });
  return measured(r.status, r.stderr);
}

export function peakRss(argv: string[], opts: MeasureOptions): Promise<Measured> {
  return new Promise((resolve) => {
    const child = spawn('python3', ['-c', WRAP, ...argv], { ...opts, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve(measured(code, err)));
  });
}
