import { describe, expect, it } from 'vitest';
import {
  createSinks,
  createSlackSink,
  notifyConfigSchema,
  slackMessage,
  type SlackBlock,
  type SlackMessage,
} from '../../src/notify/index.ts';
import type { Incident } from '../../src/shared/index.ts';
import { VigilError } from '../../src/shared/index.ts';
import { captureLogger, harness, makeEvent, waitFor } from './helpers.ts';

const { receiver, notifier } = harness();
const THUMB = 'https://vigil.example/thumbs/news-hd/123.jpg';

function withThumb(over: Partial<Incident> = {}): Partial<Incident> {
  // The shared Incident type gains thumbnailUrl later; sinks read it defensively.
  return { ...over, thumbnailUrl: THUMB };
}

const news = { streamId: 'news-hd', streamName: 'News HD', tags: ['news', 'tier1'] };
const block = <T extends SlackBlock['type']>(m: SlackMessage, type: T): Extract<SlackBlock, { type: T }>[] =>
  m.blocks.filter((b): b is Extract<SlackBlock, { type: T }> => b.type === type);
const fieldTexts = (m: SlackMessage): string[] =>
  block(m, 'section')
    .flatMap((s) => s.fields ?? [])
    .map((f) => f.text);

describe('slack sink', () => {
  it('posts a header, fields and an image block to the webhook URL from urlEnv', async () => {
    const r = await receiver();
    const n = notifier([createSlackSink({ urlEnv: 'SLACK_URL', name: 'slack' }, { env: { SLACK_URL: r.url } })]);
    const ev = makeEvent('incident.opened', withThumb({ ...news, measurements: { meanLuma: 16.123, frames: 40 } }));
    n.publish(ev);
    await waitFor(() => n.stats().slack?.delivered === 1);

    const req = r.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    const msg = req.body as SlackMessage;
    expect(msg.text).toBe('🔴 black on News HD (critical) at 12.04 s');
    expect(msg.blocks[0]).toEqual({
      type: 'header',
      text: { type: 'plain_text', text: '🔴 black on News HD', emoji: true },
    });
    const fields = fieldTexts(msg);
    expect(fields).toEqual([
      '*Stream*\nNews HD (`news-hd`)',
      '*Type*\nblack',
      '*Severity*\ncritical',
      '*Start (media)*\n12.04 s',
      '*Opened*\n<!date^1795687262^{date_num} {time_secs}|2026-11-26T10:01:02.000Z>',
      '*Measurements*\n`meanLuma=16.12 frames=40`',
    ]);
    expect(block(msg, 'image')).toEqual([{ type: 'image', image_url: THUMB, alt_text: 'News HD at 12.04 s' }]);
    expect(block(msg, 'context')[0]?.elements[0]?.text).toBe(`incident \`${ev.incident.id}\`  ·  tags: news, tier1`);
  });

  it('a close says resolved, with duration and closed time, and no image block without thumbnailUrl', () => {
    const msg = slackMessage(makeEvent('incident.closed', news));
    expect(msg.blocks[0]).toMatchObject({ type: 'header', text: { text: '✅ resolved: black on News HD' } });
    expect(msg.text).toBe('✅ resolved: black on News HD after 3.98 s');
    const fields = fieldTexts(msg);
    expect(fields).toContain('*Duration*\n3.98 s');
    expect(fields).toContain('*Closed*\n<!date^1795687266^{date_num} {time_secs}|2026-11-26T10:01:06.000Z>');
    expect(fields.length).toBeLessThanOrEqual(10);
    expect(block(msg, 'image')).toEqual([]);
  });

  it('shows the channel, flapping count, and escapes mrkdwn', () => {
    const msg = slackMessage(
      makeEvent('incident.opened', {
        type: 'silence',
        channel: 'FL',
        severity: 'minor',
        occurrences: 3,
        streamId: 'a',
        streamName: 'A <&> B',
      }),
    );
    expect(msg.blocks[0]).toMatchObject({ text: { text: '🔴 silence (FL) on A <&> B' } });
    expect(msg.text).toBe('🔴 silence (FL) on A &lt;&amp;&gt; B (minor) at 12.04 s');
    expect(fieldTexts(msg)).toEqual(expect.arrayContaining(['*Stream*\nA &lt;&amp;&gt; B (`a`)', '*Occurrences*\n3']));
  });

  it('accepts a literal url, naming the sink by host only', () => {
    const sink = createSlackSink({ url: 'https://hooks.slack.com/services/T0/B0/secret' });
    expect(sink.name).toBe('slack:hooks.slack.com');
  });

  it('fails creation naming the variable and the sink when urlEnv is unset or not a URL', () => {
    expect(() => createSlackSink({ urlEnv: 'SLACK_OPS_URL' }, { env: {} })).toThrow(
      'notify sink "slack:SLACK_OPS_URL": environment variable SLACK_OPS_URL (named by urlEnv) is not set',
    );
    let err: unknown;
    try {
      createSlackSink({ urlEnv: 'SLACK_OPS_URL', name: 'ops' }, { env: { SLACK_OPS_URL: 'xoxb-not-a-url' } });
    } catch (caught) {
      err = caught;
    }
    expect(err).toBeInstanceOf(VigilError);
    expect((err as Error).message).toMatch(/"ops".*SLACK_OPS_URL.*does not hold an http/);
    // The (secret) value is never echoed.
    expect((err as Error).message).not.toContain('xoxb');
  });

  it('is built by createSinks from config', () => {
    const cfg = notifyConfigSchema.parse({
      console: false,
      slack: [{ urlEnv: 'S1' }, { url: 'https://h.example/x', name: 'x' }],
    });
    const sinks = createSinks(cfg, { logger: captureLogger().logger, env: { S1: 'https://hooks.slack.com/a' } });
    expect(sinks.map((s) => s.name)).toEqual(['slack:S1', 'x']);
  });
});
