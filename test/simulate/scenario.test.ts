import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErrorCodes, VigilError } from '../../src/shared/index.ts';
import { containerFor, demoScenario, loadScenarioFile, parseScenario, scenarioSchema } from '../../src/simulate/index.ts';

function detailsOf(input: unknown): string[] {
  try {
    parseScenario(input);
  } catch (e) {
    expect(e).toBeInstanceOf(VigilError);
    expect((e as VigilError).code).toBe(ErrorCodes.SCENARIO_INVALID);
    return [...(e as VigilError).details];
  }
  throw new Error('expected parseScenario to throw');
}

describe('parseScenario', () => {
  it('fills defaults for a minimal scenario', () => {
    const sc = parseScenario({ streams: [{ id: 'a', output: { type: 'udp' } }] });
    const s = sc.streams[0]!;
    expect(s.content).toEqual({ source: 'testsrc2' });
    expect(s.video).toMatchObject({ width: 640, height: 360, fps: 25, codec: 'h264' });
    expect(s.audio).toMatchObject({ sampleRate: 48000, channels: 2 });
    expect(s.output).toEqual({ type: 'udp', port: 0, host: '127.0.0.1' });
    expect(s.cycle).toBe(60);
    expect(scenarioSchema.safeParse(sc).success).toBe(true);
  });

  it('names the field path and what was expected', () => {
    const d = detailsOf({
      streams: [
        {
          id: 'a',
          output: { type: 'udp', port: 'x' },
          bogus: 1,
          schedule: [
            { at: 1, type: 'black', duration: 2 },
            { at: 5, type: 'blak', duration: 2 },
            { at: 8, type: 'freeze', duration: 1, grainz: 3 },
          ],
        },
      ],
    });
    expect(d).toContain(
      'streams[0].schedule[1].type: expected one of black|freeze|silence|signal_loss|clean|corruption|av_offset|timestamp_drift|loudness|clipping|channel_loss|audio_missing|video_missing|stutter|transport',
    );
    expect(d).toContain('streams[0].bogus: unknown key');
    expect(d).toContain('streams[0].schedule[2].grainz: unknown key');
    expect(d.some((l) => l.startsWith('streams[0].output.port: expected number'))).toBe(true);
  });

  it('rejects unknown output types, top-level keys and a missing streams list', () => {
    expect(detailsOf({ streams: [{ id: 'a', output: { type: 'ndi' } }], extra: true })).toEqual([
      'streams[0].output.type: expected one of udp|srt|rtmp|rtsp|hls|file',
      'extra: unknown key',
    ]);
    expect(detailsOf({})[0]).toMatch(/^streams: expected array/);
  });

  it('picks the container a stream renders into, and names the field when a file output cannot carry it', () => {
    const stream = (output: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      parseScenario({ streams: [{ id: 'a', output, ...extra }] }).streams[0]!;
    const vp9 = { video: { codec: 'vp9' }, audio: { codec: 'opus' } };
    expect(containerFor(stream({ type: 'udp' }))).toBe('ts');
    expect(containerFor(stream({ type: 'file' }))).toBe('ts');
    expect(containerFor(stream({ type: 'file' }, vp9))).toBe('webm');
    expect(containerFor(stream({ type: 'file' }, { video: { codec: 'vp9' }, audio: { codec: 'aac' } }))).toBe('mkv');
    expect(containerFor(stream({ type: 'file', container: 'mov' }))).toBe('mov');
    expect(detailsOf({ streams: [{ id: 'a', output: { type: 'file', container: 'ts' }, ...vp9 }] })).toEqual([
      'streams[0].output.container: MPEG-TS cannot carry vp9 (use mkv or webm)',
    ]);
    expect(detailsOf({ streams: [{ id: 'a', output: { type: 'file', container: 'webm' } }] })).toEqual([
      'streams[0].output.container: webm carries vp9 video only (video.codec is h264)',
    ]);
    expect(detailsOf({ streams: [{ id: 'a', output: { type: 'file', container: 'avi' } }] })).toEqual([
      'streams[0].output.container: expected one of "ts"|"mp4"|"mkv"|"mov"|"webm"',
    ]);
    // Transport damage is TS packets: a vp9 file (webm by default) cannot have it.
    const transport = { schedule: [{ at: 1, type: 'transport', duration: 1, mode: 'drop', rate: 0.1 }] };
    expect(detailsOf({ streams: [{ id: 'a', output: { type: 'file' }, ...vp9, ...transport }] })).toEqual([
      'streams[0].output: transport damage needs MPEG-TS (container ts)',
    ]);
    expect(containerFor(stream({ type: 'file' }, transport))).toBe('ts');
  });

  it('checks schedule consistency: within the cycle, no overlapping video defects, valid channel', () => {
    const d = detailsOf({
      streams: [
        {
          id: 'a',
          output: { type: 'hls' },
          cycle: 20,
          audio: { channels: 2 },
          schedule: [
            { at: 18, type: 'black', duration: 4 },
            { at: 1, type: 'freeze', duration: 4 },
            { at: 3, type: 'clean', duration: 4, variant: 'dark' },
            { at: 8, type: 'silence', duration: 1, channel: 2 },
            { at: 9, type: 'silence', duration: 1, channel: 'XX' },
          ],
        },
        { id: 'a', output: { type: 'udp' } },
      ],
    });
    expect(d).toContain('streams[0].schedule[0].duration: expected at + duration <= cycle (20)');
    expect(d).toContain('streams[0].schedule[2].at: expected no overlap with schedule[1] (freeze)');
    expect(d).toContain('streams[0].schedule[3].channel: expected a channel index < 2');
    expect(d).toContain('streams[0].schedule[4].channel: expected one of FL|FR');
    expect(d).toContain('streams[1].id: expected a unique id (also streams[0])');
  });
});

describe('issue-3 defect items', () => {
  it('validates the new items: audio needed, one of ppm|driftMs, overlap per group, channel', () => {
    const d = detailsOf({
      streams: [
        {
          id: 'a',
          output: { type: 'udp' },
          cycle: 30,
          schedule: [
            { at: 1, type: 'timestamp_drift', duration: 2 },
            { at: 4, type: 'loudness', duration: 4, gainDb: 6 },
            { at: 6, type: 'clipping', duration: 4 },
            { at: 6, type: 'stutter', duration: 2 }, // video group: may overlap audio items
            { at: 7, type: 'corruption', duration: 2 },
            { at: 12, type: 'channel_loss', duration: 1, channel: 'FC' },
            { at: 14, type: 'av_offset', duration: 1, offsetMs: 0 },
          ],
        },
        {
          id: 'b',
          output: { type: 'udp' },
          audio: false,
          schedule: [{ at: 1, type: 'loudness', duration: 1, gainDb: 3 }],
        },
      ],
    });
    expect(d).toContain('streams[0].schedule[0].ppm: expected exactly one of ppm|driftMs');
    expect(d).toContain('streams[0].schedule[2].at: expected no overlap with schedule[1] (loudness)');
    expect(d).toContain('streams[0].schedule[4].at: expected no overlap with schedule[3] (stutter)');
    expect(d).toContain('streams[0].schedule[5].channel: expected one of FL|FR');
    expect(d).toContain('streams[0].schedule[6].offsetMs: expected a non-zero offset');
    expect(d).toContain('streams[1].schedule[0].type: loudness needs audio (audio is false)');
    expect(d.some((l) => l.startsWith('streams[0].schedule[3]'))).toBe(false);
  });

  it('fills defaults for the new items and content', () => {
    const s = parseScenario({
      streams: [
        {
          id: 'a',
          output: { type: 'udp' },
          content: { source: 'syncpattern' },
          schedule: [
            { at: 1, type: 'corruption', duration: 1 },
            { at: 3, type: 'stutter', duration: 1 },
            { at: 5, type: 'transport', duration: 1 },
            { at: 7, type: 'channel_loss', duration: 1, channel: 0 },
          ],
        },
      ],
    }).streams[0]!;
    expect(s.content).toEqual({ source: 'syncpattern' });
    expect(s.video).toMatchObject({ codec: 'h264', missing: false });
    expect(s.audio).toMatchObject({ codec: 'aac', signal: 'tone', missing: false });
    expect(s.schedule).toEqual([
      {
        at: 1,
        type: 'corruption',
        duration: 1,
        variant: 'decoder',
        mode: 'bitflip',
        rate: 0.05,
        upstreamCodec: 'h264',
      },
      { at: 3, type: 'stutter', duration: 1, mode: 'drop', rate: 0.2 },
      { at: 5, type: 'transport', duration: 1, mode: 'drop', rate: 0.02 },
      { at: 7, type: 'channel_loss', duration: 1, channel: 0, variant: 'dead' },
    ]);
  });
});

describe('loadScenarioFile', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('reads YAML and JSON, resolving clip paths against the file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigil-scn-'));
    const yamlPath = join(dir, 's.yaml');
    await writeFile(
      yamlPath,
      [
        'seed: 3',
        'streams:',
        '  - id: clip1',
        '    output: { type: hls, segmentSeconds: 2 }',
        '    content: { source: clip, path: media/x.mp4 }',
        '    schedule:',
        '      - { at: 10, type: black, duration: 4 }',
        '      - { at: 36, type: silence, duration: 4, channel: 1 }',
      ].join('\n'),
    );
    const sc = await loadScenarioFile(yamlPath);
    expect(sc.seed).toBe(3);
    expect(sc.streams[0]!.content).toEqual({ source: 'clip', path: join(dir, 'media/x.mp4') });
    const jsonPath = join(dir, 's.json');
    await writeFile(jsonPath, JSON.stringify({ streams: [{ id: 'j', output: { type: 'udp', port: 5000 } }] }));
    expect((await loadScenarioFile(jsonPath)).streams[0]!.output).toMatchObject({ port: 5000 });
    await writeFile(jsonPath, '{ nope');
    await expect(loadScenarioFile(jsonPath)).rejects.toMatchObject({ code: ErrorCodes.SCENARIO_INVALID });
  });
});

describe('example fixture', () => {
  it('parses, with clip paths resolved against the file', async () => {
    const sc = await loadScenarioFile(join(__dirname, 'fixtures/example.yaml'));
    expect(sc.streams.map((s) => s.id)).toEqual(['udp-bars', 'hls-clip', 'udp-sync']);
    expect(sc.streams[2]!.schedule.map((i) => i.type)).toEqual([
      'av_offset',
      'timestamp_drift',
      'loudness',
      'clipping',
      'channel_loss',
      'audio_missing',
      'stutter',
      'corruption',
      'transport',
      'video_missing',
    ]);
    expect(sc.streams[0]!.schedule).toHaveLength(6);
    expect(sc.streams[1]!.audio).toBe(false);
    expect(sc.streams[1]!.content).toEqual({
      source: 'clip',
      path: join(__dirname, '../../../shared/media/static_water_stream_480x360.mp4'),
    });
  });
});

describe('demoScenario', () => {
  it('has three loopback streams (UDP, SRT and HLS) with every defect type within 60 s', () => {
    const sc = demoScenario();
    expect(sc.streams).toHaveLength(3);
    const outputs = sc.streams.map((s) => s.output.type);
    expect(outputs).toEqual(['udp', 'srt', 'hls']);
    const types = new Set(
      sc.streams.flatMap((s) => s.schedule.filter((i) => i.at + i.duration <= 60).map((i) => i.type)),
    );
    for (const t of ['black', 'freeze', 'silence', 'signal_loss', 'clean']) expect(types).toContain(t);
    for (const s of sc.streams) {
      const t = new Set(s.schedule.map((i) => i.type));
      for (const need of ['black', 'freeze', 'silence']) expect(t).toContain(need);
    }
  });
});
