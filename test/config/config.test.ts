import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configReferenceMarkdown, parseConfigText, streamIngest } from '../../src/config/index.ts';
import { VigilError } from '../../src/shared/index.ts';

function problems(yaml: string): string[] {
  try {
    parseConfigText(yaml, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(VigilError);
    return [...(err as VigilError).details];
  }
  throw new Error('config was accepted');
}

describe('config', () => {
  it('applies defaults to a minimal config', () => {
    const c = parseConfigText('streams: [{ id: a, url: "udp://127.0.0.1:5000" }]');
    expect(c.workers).toBe('auto');
    expect(c.ingest.signalLossAfter).toBe(3);
    expect(c.notify.console).toBe(true);
    expect(c.streams[0]).toMatchObject({ id: 'a', tags: [] });
  });

  it("a stream's ingest overrides replace only the fields they set; the rest come from the top-level block", () => {
    const c = parseConfigText(`
ingest: { signalLossAfter: 7, variant: lowest }
streams:
  - { id: a, url: a.ts, ingest: { thumbnailInterval: 2 } }
  - { id: b, url: b.ts, ingest: { variant: 2500000, signalLossAfter: 1 } }
  - { id: c, url: c.ts, ingest: { tsAnalysis: false } }
`);
    // Until 2026-11-27 the stream block got every default filled in (signalLossAfter 3 here),
    // which then won over the top-level 7.
    expect(c.streams[0]!.ingest).toEqual({ thumbnailInterval: 2 });
    const base = { signalRecovery: 2, reconnectMaxDelay: 10, tsAnalysis: true };
    expect(streamIngest(c, c.streams[0]!)).toEqual({ ...base, signalLossAfter: 7, thumbnailInterval: 2, variant: 'lowest' });
    expect(streamIngest(c, c.streams[1]!)).toEqual({ ...base, signalLossAfter: 1, thumbnailInterval: 5, variant: 2500000 });
    expect(streamIngest(c, c.streams[2]!)).toEqual({ ...base, signalLossAfter: 7, thumbnailInterval: 5, variant: 'lowest', tsAnalysis: false });
    expect(problems('streams: [{ id: a, url: a.ts, ingest: { variant: best } }]')).toEqual([
      'streams[0].ingest.variant: expected "highest", "lowest" or a bandwidth in bits/s',
    ]);
    expect(problems('ingest: { tsAnalysis: yes }')).toEqual(['ingest.tsAnalysis: expected true or false']);
  });

  it('reports one line per problem, each naming the field path and what was expected', () => {
    const lines = problems(`
workers: 0
detectors:
  black: { minDuration: -1, bogus: 1 }
  nope: {}
streams:
  - { id: a, url: "udp://x", extra: 1 }
  - { id: "bad id!", url: "" }
  - { id: c, url: f.ts, detectors: { freeze: { noiseFactor: "x" } } }
notify:
  webhooks: [{ url: "ftp://x" }]
`);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^workers: /),
        'detectors.black.minDuration: expected at least 0.04 s',
        'detectors.black.bogus: unknown key',
        'detectors.nope: unknown key',
        'streams[0].extra: unknown key',
        expect.stringMatching(/^streams\[1\]\.id: expected 1-64 letters/),
        'streams[1].url: expected a URL or file path FFmpeg can open',
        'streams[2].detectors.freeze.noiseFactor: expected a number (ratio)',
        expect.stringMatching(/^notify\.webhooks\[0\]\.url: must be an http/),
      ]),
    );
    expect(lines).toHaveLength(9);
  });

  it("a stream's inputOptions reach FFmpeg as strings; a bad option name or value names the field", () => {
    const c = parseConfigText(`
streams:
  - { id: push, url: "rtmp://0.0.0.0:1935/live/cam", inputOptions: { listen: 1 } }
  - { id: cam, url: "rtsp://10.0.0.5/stream", inputOptions: { rtsp_transport: udp, stimeout: 3000000, prefer_tcp: false } }
`);
    expect(c.streams[0]!.inputOptions).toEqual({ listen: 1 });
    expect(c.streams[1]!.inputOptions).toEqual({ rtsp_transport: 'udp', stimeout: 3000000, prefer_tcp: false });
    expect(problems('streams: [{ id: a, url: a.ts, inputOptions: { "-listen": 1 } }]')).toEqual([
      'streams[0].inputOptions.-listen: expected an FFmpeg option name (letters, digits, _)',
    ]);
    expect(problems('streams: [{ id: a, url: a.ts, inputOptions: { headers: [a, b] } }]')).toEqual([
      'streams[0].inputOptions.headers: expected a string, number or boolean',
    ]);
  });

  it('rejects duplicate stream ids naming both places', () => {
    expect(problems('streams: [{ id: a, url: x.ts }, { id: a, url: y.ts }]')).toEqual([
      'streams[1].id: duplicate id "a" (also streams[0].id)',
    ]);
  });

  it('reports YAML syntax errors with a line number', () => {
    expect(problems('streams: [\n  { id: a, url: x.ts\n')[0]).toMatch(/^line \d+, column \d+: /);
  });

  it('the example config in examples/ is valid', () => {
    const text = readFileSync(new URL('../../examples/vigil.yaml', import.meta.url), 'utf8');
    const c = parseConfigText(text, 'examples/vigil.yaml');
    expect(c.streams.map((s) => s.id)).toEqual(['news-udp', 'sport-hls', 'lobby-cam']);
  });

  it('docs/configuration.md is up to date with the schema and option tables (run `npm run docs`)', () => {
    const onDisk = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    expect(onDisk).toBe(configReferenceMarkdown());
  });
});
