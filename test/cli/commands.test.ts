/** `vigil config check`, `vigil detectors` and unknown commands, as real processes. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANSI, lines, runVigil } from './run-vigil.ts';

const GOOD = `workers: 2
detectors:
  freeze: { minDuration: 3 }
notify:
  console: true
streams:
  - id: news-hd
    name: News HD
    url: udp://239.1.1.1:5000
    tags: [news, hd]
  - id: sport-hls
    url: https://cdn.example.com/sport/index.m3u8
    detectors:
      silence: { threshold: -55, minDuration: 5 }
`;

/** Three independent problems: an unknown key, a number out of range, a wrong type in streams[1]. */
const BAD = `detectors:
  freeze: { minDuration: 0 }
streams:
  - id: a
    url: udp://127.0.0.1:5000
    extra: 1
  - id: b
    url: 42
`;
const BAD_PATHS = ['streams[0].extra', 'detectors.freeze.minDuration', 'streams[1].url'];

describe('vigil config check', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-cli-config-'));
    await writeFile(join(dir, 'good.yaml'), GOOD);
    await writeFile(join(dir, 'bad.yaml'), BAD);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a valid config exits 0 and says it is valid', async () => {
    const r = await runVigil(['config', 'check', join(dir, 'good.yaml')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\bvalid\b/);
    expect(r.stdout).not.toMatch(/invalid/i);
    expect(r.stdout).toContain('good.yaml');
    expect(r.stdout).toContain('2 stream');
  });

  it('a config whose secret environment variable is unset fails the check, naming the variable', async () => {
    await writeFile(
      join(dir, 'secret.yaml'),
      'notify:\n  webhooks:\n    - url: http://127.0.0.1:9/hook\n      secretEnv: VIGIL_TEST_UNSET_SECRET\n',
    );
    const r = await runVigil(['config', 'check', join(dir, 'secret.yaml')]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('VIGIL_TEST_UNSET_SECRET');
  });

  it('an invalid config exits 2 and lists each problem with its field path, one per line', async () => {
    const r = await runVigil(['config', 'check', join(dir, 'bad.yaml')]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const err = lines(r.stderr);
    expect(r.stderr).toContain('bad.yaml');
    for (const path of BAD_PATHS) {
      const hits = err.filter((l) => l.includes(path));
      expect(hits.length, `one stderr line names ${path}:\n${r.stderr}`).toBe(1);
    }
    // Each problem on its own line: no line names two of the paths.
    for (const l of err) expect(BAD_PATHS.filter((p) => l.includes(p)).length, l).toBeLessThanOrEqual(1);
    expect(err.find((l) => l.includes('streams[0].extra'))).toMatch(/unknown key/);
    expect(err.find((l) => l.includes('detectors.freeze.minDuration'))).toMatch(/at least 0\.1/);
    expect(err.find((l) => l.includes('streams[1].url'))).toMatch(/expected/);
  });

  it('an unreadable config exits non-zero with one line naming the file', async () => {
    const r = await runVigil(['config', 'check', join(dir, 'missing.yaml')]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain('missing.yaml');
  });
});

describe('vigil detectors', () => {
  it('lists black, freeze and silence with their options', async () => {
    const r = await runVigil(['detectors']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(ANSI);
    const out = lines(r.stdout);
    const headers = out.filter((l) => /^\S/.test(l)).map((l) => l.split(':')[0]);
    expect(headers).toEqual(expect.arrayContaining(['black', 'freeze', 'silence']));
    // Each detector's block has its options (indented lines with a default).
    const blockOf = (name: string): string[] => {
      const i = out.findIndex((l) => l.startsWith(`${name}:`));
      const rest = out.slice(i + 1);
      const j = rest.findIndex((l) => /^\S/.test(l));
      return j < 0 ? rest : rest.slice(0, j);
    };
    const expected: Record<string, string[]> = {
      black: ['minDuration', 'recovery', 'pictureRatio', 'maxDeviation'],
      freeze: ['minDuration', 'recovery', 'changeThreshold', 'maxMovingArea'],
      silence: ['minDuration', 'recovery', 'threshold', 'perChannel'],
    };
    for (const [name, opts] of Object.entries(expected)) {
      const block = blockOf(name);
      expect(block.length, `${name} has options`).toBeGreaterThan(0);
      for (const o of opts) {
        const line = block.find((l) => l.trim().startsWith(o));
        expect(line, `${name}.${o} listed`).toBeDefined();
        expect(line).toMatch(/default/);
      }
    }
  });
});

describe('unknown command', () => {
  it('vigil nosuchcommand exits 2 with usage on stderr', async () => {
    const r = await runVigil(['nosuchcommand']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('nosuchcommand');
    expect(r.stderr).toMatch(/Usage:/);
    for (const cmd of ['analyze', 'monitor', 'simulate', 'config check', 'detectors'])
      expect(r.stderr).toContain(`vigil ${cmd}`);
  });
});
