import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { INCIDENT_TYPES, type Incident, type IncidentType } from '../shared/index.ts';

/**
 * A silence rule (or maintenance window: one whose start lies in the future). While it is
 * active (startsAt <= now < endsAt), incidents it matches that open are recorded and shown,
 * marked silenced, but not notified. Every matcher that is set must match; at least one is set.
 */
export interface Silence {
  readonly id: string;
  /** Stream id. */
  readonly stream?: string;
  /** The stream carries this tag. */
  readonly tag?: string;
  readonly type?: IncidentType;
  /** ISO 8601. */
  readonly startsAt: string;
  /** ISO 8601; after it the rule has expired. */
  readonly endsAt: string;
  readonly comment?: string;
  readonly createdBy?: string;
  readonly createdAt: string;
  /** 'api' (stored, deletable) or 'config' (from the config file, read-only). */
  readonly source: 'api' | 'config';
}

export type SilenceState = 'pending' | 'active' | 'expired';

/** What persists silences (the store's `silences` table). */
export interface SilenceStore {
  saveSilence(s: Silence): void;
  /** False for an unknown id. */
  deleteSilence(id: string): boolean;
  /** Every stored silence whose end is after `endsAfter` (ISO 8601), oldest start first. */
  listSilences(endsAfter?: string): Silence[];
}

const iso = () =>
  z.iso.datetime({ offset: true, error: 'expected an ISO 8601 date-time, e.g. 2024-05-01T12:00:00Z' });

const matcherShape = {
  stream: z.string().min(1).optional().describe('Only incidents of this stream id.'),
  tag: z.string().min(1).optional().describe('Only incidents of streams carrying this tag.'),
  type: z
    .enum(INCIDENT_TYPES, { error: `expected one of ${INCIDENT_TYPES.join(', ')}` })
    .optional()
    .describe('Only incidents of this type.'),
  comment: z.string().max(1000).optional().describe('Why: shown in the dashboard and the API.'),
};

type SilenceFields = {
  stream?: string | undefined;
  tag?: string | undefined;
  type?: string | undefined;
  startsAt?: string | undefined;
  endsAt?: string | undefined;
  duration?: number | undefined;
};

/** Checks of a config entry: matchers, and a well-formed interval (it may have expired already). */
function refineConfigSilence(v: SilenceFields, ctx: z.RefinementCtx): void {
  if (v.stream === undefined && v.tag === undefined && v.type === undefined) {
    ctx.addIssue({ code: 'custom', path: ['stream'], message: 'set at least one of stream, tag and type' });
  }
  if ((v.endsAt === undefined) === (v.duration === undefined)) {
    ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'set exactly one of endsAt and duration' });
  }
  if (v.endsAt !== undefined && v.startsAt !== undefined && Date.parse(v.endsAt) <= Date.parse(v.startsAt)) {
    ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'must be after startsAt' });
  }
}

/** Checks of an API body: as a config entry, and the end must lie in the future. */
function refineSilence(v: SilenceFields, ctx: z.RefinementCtx): void {
  refineConfigSilence(v, ctx);
  const now = Date.now();
  const end =
    v.endsAt !== undefined
      ? Date.parse(v.endsAt)
      : v.duration !== undefined
        ? (v.startsAt !== undefined ? Date.parse(v.startsAt) : now) + v.duration * 1000
        : undefined;
  if (end !== undefined && !Number.isNaN(end) && end <= now) {
    ctx.addIssue({ code: 'custom', path: [v.endsAt !== undefined ? 'endsAt' : 'duration'], message: 'the silence would end in the past' });
  }
}

/** The body of `POST /api/silences`. */
export const silenceInputSchema = z
  .strictObject({
    ...matcherShape,
    startsAt: iso()
      .optional()
      .describe('When the silence begins (default: now). A future start makes it a maintenance window.'),
    endsAt: iso().optional().describe('When it ends. Exactly one of endsAt and duration.'),
    duration: z
      .number({ error: 'expected seconds > 0' })
      .positive({ error: 'expected seconds > 0' })
      .max(366 * 86_400, { error: 'at most one year (31 622 400 s)' })
      .optional()
      .describe('Seconds from startsAt (or now) to the end. Exactly one of endsAt and duration.'),
    createdBy: z.string().min(1).max(200).optional().describe('Who asked for it.'),
  })
  .superRefine(refineSilence)
  .describe('A silence rule or maintenance window: stream, tag and/or type, with a start and an end.');
export type SilenceInput = z.infer<typeof silenceInputSchema>;

/**
 * One `notify.silences[]` entry of the config file. Like the API body, except that an end in
 * the past is accepted (the rule is simply expired): a stale maintenance window in the file must
 * not stop Vigil from starting.
 */
export const silenceConfigSchema = z
  .strictObject({
    ...matcherShape,
    startsAt: iso().optional().describe('When the silence begins (default: when Vigil starts).'),
    endsAt: iso().optional().describe('When it ends. Exactly one of endsAt and duration.'),
    duration: z
      .number({ error: 'expected seconds > 0' })
      .positive({ error: 'expected seconds > 0' })
      .optional()
      .describe('Seconds from startsAt (or from when Vigil starts) to the end.'),
  })
  .superRefine(refineConfigSilence)
  .describe('A silence or maintenance window from the config file (read-only in the API).');

/** Resolves an input to a rule (id, absolute start and end). */
export function silenceFromInput(
  input: SilenceInput,
  opts: { now?: number; source?: Silence['source']; id?: string } = {},
): Silence {
  const now = opts.now ?? Date.now();
  const startMs = input.startsAt !== undefined ? Date.parse(input.startsAt) : now;
  const endMs = input.endsAt !== undefined ? Date.parse(input.endsAt) : startMs + (input.duration ?? 0) * 1000;
  return {
    id: opts.id ?? randomUUID(),
    ...(input.stream !== undefined ? { stream: input.stream } : {}),
    ...(input.tag !== undefined ? { tag: input.tag } : {}),
    ...(input.type !== undefined ? { type: input.type } : {}),
    startsAt: new Date(startMs).toISOString(),
    endsAt: new Date(endMs).toISOString(),
    ...(input.comment !== undefined ? { comment: input.comment } : {}),
    ...(input.createdBy !== undefined ? { createdBy: input.createdBy } : {}),
    createdAt: new Date(now).toISOString(),
    source: opts.source ?? 'api',
  };
}

export function silenceState(s: Silence, now = Date.now()): SilenceState {
  if (now < Date.parse(s.startsAt)) return 'pending';
  return now < Date.parse(s.endsAt) ? 'active' : 'expired';
}

/** Whether the rule's matchers all fit the incident (time not considered). */
export function silenceMatches(s: Silence, inc: Pick<Incident, 'streamId' | 'tags' | 'type'>): boolean {
  if (s.stream !== undefined && s.stream !== inc.streamId) return false;
  if (s.tag !== undefined && !inc.tags.includes(s.tag)) return false;
  if (s.type !== undefined && s.type !== inc.type) return false;
  return true;
}

/**
 * The silences in force: the config file's (read-only) plus the stored ones (added and deleted
 * through the API). Reads go to memory; writes go to the store first, so a rule survives a
 * restart. Expired rules are kept for a day (listed with `state=expired`), then forgotten.
 */
export class Silences {
  private readonly rules = new Map<string, Silence>();
  private readonly now: () => number;

  constructor(
    private readonly store: SilenceStore | undefined,
    configRules: readonly SilenceInput[] = [],
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now;
    configRules.forEach((input, i) => {
      const rule = silenceFromInput(input, { now: this.now(), source: 'config', id: `config-${i + 1}` });
      this.rules.set(rule.id, rule);
    });
    const keepSince = new Date(this.now() - 86_400_000).toISOString();
    for (const rule of store?.listSilences(keepSince) ?? []) this.rules.set(rule.id, rule);
  }

  /** Newest start first; `states` filters (default: every state). */
  list(states?: readonly SilenceState[]): Silence[] {
    const now = this.now();
    return [...this.rules.values()]
      .filter((s) => !states || states.includes(silenceState(s, now)))
      .sort((a, b) => Date.parse(b.startsAt) - Date.parse(a.startsAt));
  }

  get(id: string): Silence | undefined {
    return this.rules.get(id);
  }

  add(input: SilenceInput): Silence {
    const rule = silenceFromInput(input, { now: this.now() });
    this.store?.saveSilence(rule);
    this.rules.set(rule.id, rule);
    return rule;
  }

  /** 'removed', 'unknown', or 'read-only' for a config-file rule. */
  remove(id: string): 'removed' | 'unknown' | 'read-only' {
    const rule = this.rules.get(id);
    if (!rule) return 'unknown';
    if (rule.source === 'config') return 'read-only';
    this.store?.deleteSilence(id);
    this.rules.delete(id);
    return 'removed';
  }

  /** Active rules matching the incident now. */
  matching(inc: Pick<Incident, 'streamId' | 'tags' | 'type'>): Silence[] {
    const now = this.now();
    return [...this.rules.values()].filter((s) => silenceState(s, now) === 'active' && silenceMatches(s, inc));
  }

  /** How many rules are active now. */
  activeCount(): number {
    const now = this.now();
    let n = 0;
    for (const s of this.rules.values()) if (silenceState(s, now) === 'active') n++;
    return n;
  }
}
