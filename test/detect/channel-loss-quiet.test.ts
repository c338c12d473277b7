/**
 * channel_loss on a quiet programme, encoded for real (simulator, H.264 + AAC in MPEG-TS): a
 * real clip's sound (chaplin_bw_pillarbox, whose channels differ by up to ±5 dB from moment to
 * moment) turned down 40 dB so that both channels hover around the -60 dBFS threshold. One
 * channel dipping just under it while the other sits just over is a quiet programme, not a
 * lost leg (this was reported as `dead` several times before the margin); a leg that really is
 * lost next to it still is.
 * Clip from ../shared/media (SOURCES.md there); skipped without it.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyze } from '../../src/engine/analyze.ts';
import { setMediaLogLevel } from '../../src/ingest/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';

const MEDIA = fileURLToPath(new URL('../../../shared/media/', import.meta.url));
const CLIP = join(MEDIA, 'chaplin_bw_pillarbox_640x360.mp4');
const HAVE_MEDIA = existsSync(CLIP);
if (!HAVE_MEDIA) console.warn(`channel_loss quiet programme: skipped, no clip at ${CLIP}`);

const DURATION = 24;
const show = (list: Incident[]) =>
  list.map((i) => `${i.type} ${i.channel} ${i.start.toFixed(2)}-${i.end?.toFixed(2)} ${JSON.stringify(i.measurements)}`).join(', ');

const quiet = (at: number, duration: number) => ({ at, type: 'loudness', gainDb: -40, duration });

async function render(file: string, schedule: Record<string, unknown>[]) {
  const stream = parseScenario({
    seed: 9,
    streams: [
      {
        id: 'quiet',
        output: { type: 'udp' },
        content: { source: 'clip', path: CLIP },
        clock: false,
        video: { width: 160, height: 90, fps: 25 },
        audio: { sampleRate: 48000, channels: 2 },
        cycle: DURATION,
        schedule,
      },
    ],
  }).streams[0]!;
  await renderToFile(stream, file, { duration: DURATION });
}

async function channelLoss(file: string) {
  return (await analyze({ input: file, detectors: { loudness: { enabled: false }, silence: { enabled: false } } })).incidents.filter(
    (i) => i.type === 'channel_loss',
  );
}

describe.skipIf(!HAVE_MEDIA)('channel_loss on a quiet programme (both channels near -60 dBFS)', () => {
  let dir: string;
  beforeAll(async () => {
    setMediaLogLevel('quiet');
    dir = await mkdtemp(join(tmpdir(), 'vigil-channel-quiet-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('quiet programme, both legs present: no channel_loss', async () => {
    const f = join(dir, 'quiet.ts');
    await render(f, [quiet(0.5, DURATION - 1)]);
    expect(show(await channelLoss(f))).toBe('');
  }, 60_000);

  it('control: the quiet programme, then FR lost from 8 s to 16 s (the simulator does not overlap items: FL at its own level there): one dead-channel incident on FR, nothing else', async () => {
    const f = join(dir, 'quiet-dead.ts');
    await render(f, [quiet(0.5, 7.5), { at: 8, type: 'channel_loss', channel: 'FR', variant: 'dead', duration: 8 }, quiet(16, DURATION - 16.5)]);
    const found = await channelLoss(f);
    expect(found.length, show(found)).toBe(1);
    expect(found[0]!.channel, show(found)).toBe('FR');
    expect(found[0]!.measurements?.kind, show(found)).toBe('dead');
    expect(Math.abs(found[0]!.start - 8), show(found)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(found[0]!.end! - 16), show(found)).toBeLessThanOrEqual(1);
  }, 60_000);
});
