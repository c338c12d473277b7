/**
 * A freeze under grain whose coded level swings around `grainLevel`. The evaluation's HEVC
 * 320x180 render of His Girl Friday frozen under grain 11 codes the grain with a frame median of
 * 0.6-2.2 levels: one frame dipping under grainLevel (1) read as a live sensor, and the region
 * floor taken from the last frame's median let the grain's own spread count as change in new
 * regions. The 5.9 s freeze came out as two incidents (3.52-6.36 and 7.24-9.40).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DETECTORS } from '../../src/detect/index.ts';
import { analyze } from '../../src/engine/analyze.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';

const MEDIA = fileURLToPath(new URL('../../../shared/media/', import.meta.url));
const HAVE_MEDIA = existsSync(join(MEDIA, 'SOURCES.md'));

const onlyFreeze: Record<string, { enabled: boolean }> = {};
for (const d of DETECTORS) if (d.name !== 'freeze') onlyFreeze[d.name] = { enabled: false };

describe.skipIf(!HAVE_MEDIA)('freeze under grain of a swinging coded level', () => {
  let dir = '';
  beforeAll(async () => {
    setMediaLogLevel('quiet');
    dir = await mkdtemp(join(tmpdir(), 'vigil-freeze-grain-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  // The other side of it: Big Buck Bunny through MPEG-2 320x180 ends its 30 s on a near-still shot
  // whose coding noise averages about 1 level (grainLevel) and dips under it every few frames. Read
  // by a mean level before any freeze had opened, that was grain on a frozen picture (a false 2.5 s
  // freeze at 26.6 s in the evaluation); each frame's own level reads it as life.
  it('Big Buck Bunny 0-30 s, MPEG-2 320x180, nothing frozen: no freeze', async () => {
    const stream = parseScenario({
      seed: 1007,
      streams: [
        {
          id: 'bbb',
          output: { type: 'file' },
          content: { source: 'clip', path: join(MEDIA, 'bbb_720p_vp8_vorbis_0-30s.webm') },
          clock: false,
          video: { width: 320, height: 180, fps: 25, bitrateKbps: 300, codec: 'mpeg2' },
          cycle: 30,
          schedule: [],
        },
      ],
    }).streams[0]!;
    const file = join(dir, 'bbb.ts');
    await renderToFile(stream, file, { duration: 30 });
    const found = (await analyze({ input: file, detectors: onlyFreeze })).incidents.filter((i) => i.type === 'freeze');
    expect(found.map((i) => [i.start, i.end])).toEqual([]);
  }, 60_000);

  for (const grain of [9, 11, 13]) {
    it(`His Girl Friday, HEVC 320x180, frozen 3.5-9.4 s under grain ${grain}: one freeze over the whole of it`, async () => {
      const stream = parseScenario({
        seed: 2,
        streams: [
          {
            id: `grain${grain}`,
            output: { type: 'file' },
            content: { source: 'clip', path: join(MEDIA, 'speech_his_girl_friday_bw_640x480.mp4') },
            clock: false,
            video: { width: 320, height: 180, fps: 25, bitrateKbps: 300, codec: 'hevc' },
            cycle: 12,
            schedule: [{ type: 'freeze', at: 3.5, duration: 5.9, grain }],
          },
        ],
      }).streams[0]!;
      const file = join(dir, `grain${grain}.ts`);
      await renderToFile(stream, file, { duration: 12 });
      const found = (await analyze({ input: file, detectors: onlyFreeze })).incidents.filter(
        (i) => i.type === 'freeze',
      );
      const shown = JSON.stringify(found.map((i) => [i.start, i.end]));
      expect(found.length, shown).toBe(1);
      expect(found[0]!.start, shown).toBeLessThan(3.5 + 0.3);
      expect(found[0]!.end!, shown).toBeGreaterThan(9.4 - 0.1);
    }, 60_000);
  }
});
