/**
 * The evaluation report as Markdown: corpus summary, one table per split (Vigil and, where
 * one exists, its FFmpeg baseline per type), and the targets of issue 3 with verdicts.
 */
import type { EvalReport, Row, SideResult } from './evaluate.ts';

const f2 = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(2));
const f1s = (x: number | undefined): string => (x === undefined ? '–' : x.toFixed(1));

function cells(s: SideResult): string[] {
  const m = s.metrics;
  const c = s.counts;
  return [
    f2(m.precision),
    f2(m.recall),
    f2(m.f1),
    m.onsetError === undefined ? '–' : `${m.onsetError.toFixed(2)} s`,
    f1s(s.falseAlarmsPerHour),
    s.cpuRatio === undefined ? '–' : `${s.cpuRatio.toFixed(2)}×`,
    `${c.found}/${c.truths}`,
    `${c.matched}/${c.falsePositives}/${c.ignored}`,
  ];
}

export function splitTable(rows: readonly Row[]): string {
  const head = [
    '| type | by | P | R | F1 | onset err | FA/h clean | CPU / decode | found/truths | TP/FP/ignored dets | note |',
    '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|',
  ];
  const lines: string[] = [];
  for (const r of rows) {
    if (r.vigil) lines.push(`| ${r.type} | Vigil | ${cells(r.vigil).join(' | ')} | ${r.vigil.note ?? (r.variants.length ? r.variants.join(', ') : '')} |`);
    else lines.push(`| ${r.type} | Vigil | not available |  |  |  |  |  |  |  | ${r.missing ?? ''} |`);
    if (r.baseline) lines.push(`| ${r.type} | FFmpeg ${r.baseline.name} | ${cells(r.baseline).join(' | ')} | |`);
  }
  return [...head, ...lines].join('\n');
}

export interface Verdict {
  readonly target: string;
  readonly met: boolean | undefined;
  readonly detail: string;
}

export function verdicts(rep: EvalReport): Verdict[] {
  const out: Verdict[] = [];
  for (const split of rep.options.splits) {
    const rows = rep.rows.filter((r) => r.split === split);
    const ev = rows.filter((r) => r.vigil && r.vigil.counts.truths > 0);
    const low = ev.filter((r) => (r.vigil!.metrics.f1 ?? 0) < 0.95);
    const na = rows.filter((r) => !r.vigil).map((r) => r.type);
    out.push({
      target: `F1 ≥ 0.95 per type (${split})`,
      met: ev.length === 0 ? undefined : low.length === 0 && na.length === 0,
      detail:
        (low.length ? `below: ${low.map((r) => `${r.type} ${f2(r.vigil!.metrics.f1)}`).join(', ')}` : `all ${ev.length} evaluated types met`) +
        (na.length ? `; not evaluated: ${na.join(', ')}` : ''),
    });
    const fp = rows.filter((r) => r.vigil && r.vigil.cleanFalsePositives > 0);
    out.push({
      target: `Zero false alarms on clean real clips (${split})`,
      met: rep.corpus.bySplit[split]!.cleanFiles === 0 ? undefined : fp.length === 0,
      detail: fp.length ? fp.map((r) => `${r.type}: ${r.vigil!.cleanFalsePositives}`).join(', ') : `none in ${f1s(rep.corpus.bySplit[split]!.cleanSeconds / 60)} min of clean files`,
    });
    const pairs = rows.filter((r) => r.vigil && r.baseline && r.vigil.counts.truths > 0);
    const lose = pairs.filter((r) => !((r.vigil!.metrics.f1 ?? 0) > (r.baseline!.metrics.f1 ?? 0) || r.vigil!.metrics.f1 === 1 && r.baseline!.metrics.f1 === 1));
    const loseCpu = pairs.filter((r) => r.vigil!.cpuRatio === undefined || r.baseline!.cpuRatio === undefined || r.vigil!.cpuRatio >= r.baseline!.cpuRatio);
    out.push({
      target: `Vigil beats its FFmpeg counterpart on F1 and CPU (${split})`,
      met: pairs.length === 0 ? undefined : lose.length === 0 && loseCpu.length === 0,
      detail:
        pairs
          .map(
            (r) =>
              `${r.type}: F1 ${f2(r.vigil!.metrics.f1)} vs ${f2(r.baseline!.metrics.f1)}, CPU ${f2(r.vigil!.cpuRatio)}× vs ${f2(r.baseline!.cpuRatio)}×`,
          )
          .join('; ') || 'no pair evaluated',
    });
  }
  return out;
}

export function markdown(rep: EvalReport, opts: { quick: boolean }): string {
  const c = rep.corpus;
  const lines: string[] = [];
  lines.push(
    `Run ${rep.date.slice(0, 16).replace('T', ' ')} UTC on ${rep.machine} (load average at end ${rep.loadavg.join(' ')}), ${opts.quick ? '**--quick corpus**' : 'default corpus'}, ${rep.seconds.toFixed(0)} s.`,
    '',
    `Corpus: ${c.files} files, ${(c.seconds / 3600).toFixed(2)} h (${c.seconds.toFixed(0)} s); codecs ${c.codecs.join(', ')}; sizes ${c.resolutions.join(', ')}.`,
  );
  for (const split of rep.options.splits) {
    const s = c.bySplit[split]!;
    lines.push(
      `- **${split}**: ${s.files} files, ${s.seconds.toFixed(0)} s, ${s.truths} defect intervals${s.unseen ? ` (and ${s.unseen} corruption interval${s.unseen === 1 ? '' : 's'} whose damage no picture shows, not scored)` : ''}; ${s.cleanFiles} clean-only files (${s.cleanSeconds.toFixed(0)} s). Content: ${(c.contents[split] ?? []).join(', ')}.`,
    );
  }
  for (const split of rep.options.splits) {
    lines.push('', `#### ${split}`, '', splitTable(rep.rows.filter((r) => r.split === split)));
    const v = rep.vigilCpuRatio[split];
    if (v !== undefined) lines.push('', `Vigil with every default detector on: ${v.toFixed(2)}× decode-only CPU over the ${split} files.`);
  }
  lines.push('', '#### Targets', '');
  for (const v of verdicts(rep)) lines.push(`- ${v.met === undefined ? 'n/a' : v.met ? '**met**' : '**not met**'}: ${v.target}: ${v.detail}`);
  const baselines = new Map<string, string>();
  for (const r of rep.rows) if (r.baseline) baselines.set(r.baseline.name, r.baseline.params);
  if (baselines.size) {
    lines.push('', 'Baselines as run:');
    for (const [, p] of baselines) lines.push(`- \`${p}\``);
  }
  if (rep.failures.length) {
    lines.push('', `Files that failed (${rep.failures.length}; left out of the scores above):`);
    for (const f of rep.failures) lines.push(`- ${f.id} (${f.types.join(', ') || 'clean'}), at ${f.stage}: ${f.error.replace(/\|/g, '/')}`);
  }
  const na = rep.availability.filter((a) => a.missing);
  if (na.length) {
    lines.push('', 'Not available at this run:');
    for (const a of na) lines.push(`- ${a.type}: ${a.missing}`);
  }
  return lines.join('\n');
}

/**
 * Vigil's misses and false positives, file by file, per split and type (for report.md: the first
 * place to look after a run; docs/evaluation.md keeps the tables only).
 */
export function listing(rep: EvalReport): string {
  const lines: string[] = [];
  for (const split of rep.options.splits) {
    const rows = rep.rows.filter((r) => r.split === split && r.vigil && ((r.vigil.misses?.length ?? 0) > 0 || (r.vigil.falseAlarms?.length ?? 0) > 0));
    lines.push('', `#### ${split}: Vigil's misses and false positives`, '');
    if (!rows.length) lines.push('None.');
    for (const r of rows) {
      for (const m of r.vigil!.misses ?? []) lines.push(`- ${r.type} missed: ${m}`);
      for (const f of r.vigil!.falseAlarms ?? []) lines.push(`- ${r.type} false positive: ${f}`);
    }
  }
  return lines.join('\n');
}

/** Replace the text between `<!-- eval:start -->` and `<!-- eval:end -->` (appended when absent). */
export function spliceMarkers(doc: string, body: string): string {
  const start = '<!-- eval:start -->';
  const end = '<!-- eval:end -->';
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  if (a >= 0 && b > a) return `${doc.slice(0, a + start.length)}\n${body}\n${doc.slice(b)}`;
  return `${doc.trimEnd()}\n\n${start}\n${body}\n${end}\n`;
}

/** The compact table for README: F1 per type and split, Vigil and its FFmpeg counterpart. */
export function headline(rep: EvalReport, opts: { quick: boolean }): string {
  const splits = rep.options.splits;
  const types = [...new Set(rep.rows.map((r) => r.type))];
  const lines = [
    `| type | ${splits.map((s) => `Vigil F1 (${s})`).join(' | ')} | ${splits.map((s) => `FFmpeg F1 (${s})`).join(' | ')} | Vigil FA/h clean (${splits.join(' / ')}) |`,
    `|---|${splits.map(() => '--:').join('|')}|${splits.map(() => '--:').join('|')}|--:|`,
  ];
  for (const t of types) {
    const rows = splits.map((s) => rep.rows.find((r) => r.type === t && r.split === s));
    const v = rows.map((r) => (r?.vigil ? f2(r.vigil.metrics.f1) : 'n/a'));
    const b = rows.map((r) => (r?.baseline ? `${f2(r.baseline.metrics.f1)} (${r.baseline.name})` : '–'));
    const fa = rows.map((r) => (r?.vigil ? f1s(r.vigil.falseAlarmsPerHour) : '–')).join(' / ');
    lines.push(`| ${t} | ${v.join(' | ')} | ${b.join(' | ')} | ${fa} |`);
  }
  const c = rep.corpus;
  const n = rep.rows.filter((r) => r.vigil && r.vigil.counts.truths > 0).map((r) => r.vigil!.counts.truths);
  const counts = n.length ? ` Small samples: ${Math.min(...n)}–${Math.max(...n)} defect intervals per type and split.` : '';
  return [
    lines.join('\n'),
    '',
    `${opts.quick ? '**--quick corpus.** ' : ''}${c.files} files, ${(c.seconds / 60).toFixed(0)} min, codecs ${c.codecs.join(', ')}; run ${rep.date.slice(0, 10)}.${counts} ` +
      'Precision, recall, onset error, CPU and the targets: [docs/evaluation.md](docs/evaluation.md).',
  ].join('\n');
}
