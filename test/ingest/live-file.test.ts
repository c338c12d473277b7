/**
 * A local file read as a live channel (`live: true`: released at the pace of its timestamps). A
 * simulator file whose packets stop for a while (its timestamps jump over the gap, as a feed that
 * drops out and comes back) must look like that outage to everything downstream: nothing arrives
 * during the gap, the media clock stays where the media stopped, and signal_loss spans the gap.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, renderToFile } from '../../src/simulate/index.ts';
import { waitFor, watchSource } from './source-harness.ts';

const SECONDS = 9;
const GAP_AT = 2.5;
const GAP = 3;

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-live-file-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a file read as a live channel', () => {
  it('a timestamp gap is an outage at the right media time: signal_loss opens where the media stopped and closes where it resumed, and the pictures after it come at 1x', async () => {
    const file = join(dir, 'gap.ts');
    const sc = parseScenario({
      seed: 3,
      streams: [
        {
          id: 'gap',
          output: { type: 'udp' },
          clock: false,
          video: { width: 160, height: 90, fps: 25 },
          audio: { sampleRate: 48000, channels: 1 },
          cycle: SECONDS,
          schedule: [{ type: 'signal_loss', at: GAP_AT, duration: GAP }],
        },
      ],
    });
    await renderToFile(sc.streams[0]!, file, { duration: SECONDS });
    const w = watchSource({
      id: 'gap',
      url: file,
      live: true,
      signalLossAfter: 1,
      signalRecovery: 1,
      reconnectDelay: { initial: 5, max: 5 },
    });
    try {
      await waitFor(
        'signal_loss closed',
        () => w.edges.some((e) => e.type === 'signal_loss' && e.phase === 'close'),
        20_000,
      );
    } finally {
      await w.source.stop();
      await w.done;
    }
    const loss = w.edges.filter((e) => e.type === 'signal_loss');
    expect(loss.map((e) => e.phase)).toEqual(['open', 'close']);
    const [open, close] = loss as [(typeof loss)[0], (typeof loss)[0]];
    // Opened where the media stopped, not where it resumed.
    expect(open.mediaTime).toBeGreaterThan(GAP_AT - 0.5);
    expect(open.mediaTime).toBeLessThan(GAP_AT + 0.2);
    // Closed where it resumed (the first keyframe at or after the gap's end).
    expect(close.mediaTime).toBeGreaterThan(GAP_AT + GAP - 0.2);
    expect(close.mediaTime).toBeLessThan(GAP_AT + GAP + 1.2);
    // Released at 1x: the first picture from after the gap comes the gap's length after the
    // pictures before it began, not right after them.
    const video = w.log.filter((e) => e.kind === 'video');
    const firstAfter = video.find((e) => e.media > GAP_AT + 0.5)!;
    expect(firstAfter.wall - video[0]!.wall).toBeGreaterThan((firstAfter.media - video[0]!.media - 0.5) * 1000);
  }, 30_000);
});
