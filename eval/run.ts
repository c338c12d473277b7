/**
 * `npm run eval [-- --quick] [-- --split tuning|held-out] [-- --types black,freeze] [-- --per-variant N]`
 *
 * Builds the labelled corpus (cached under eval/out/corpus), runs Vigil's analyze() and the
 * FFmpeg baselines on every file, prints the per-type table and, for a full run over both
 * splits and all types, writes it into docs/evaluation.md between the eval markers.
 * Everything it measured goes to eval/out/report.json.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { INCIDENT_TYPES, type IncidentType } from '../src/shared/index.ts';
import { ROOT, SPLITS, type Split } from './corpus.ts';
import { evaluate } from './evaluate.ts';
import { headline, listing, markdown, spliceMarkers } from './report.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    split: { type: 'string' },
    types: { type: 'string' },
    'per-variant': { type: 'string' },
    files: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(
    'usage: npm run eval [-- --quick] [-- --split tuning|held-out] [-- --types black,freeze,...] [-- --per-variant N] [-- --files <id part>] [-- --no-write]\n',
  );
  process.exit(0);
}
const splits: Split[] = args.split ? args.split.split(',').map((s) => s.trim() as Split) : [...SPLITS];
for (const s of splits) if (!SPLITS.includes(s)) throw new Error(`--split: expected ${SPLITS.join('|')}, got ${s}`);
const types = args.types?.split(',').map((t) => t.trim()) as IncidentType[] | undefined;
for (const t of types ?? []) if (!INCIDENT_TYPES.includes(t)) throw new Error(`--types: unknown type ${t} (expected ${INCIDENT_TYPES.join('|')})`);
const perVariant = args['per-variant'] !== undefined ? Number(args['per-variant']) : args.quick ? 1 : 2;
if (!Number.isInteger(perVariant) || perVariant < 1) throw new Error(`--per-variant wants a positive integer, got ${args['per-variant']}`);

const rep = await evaluate({
  splits,
  ...(types ? { types } : {}),
  perVariant,
  cleanFiles: args.quick ? 2 : 4,
  cleanSeconds: args.quick ? 12 : 30,
  resolutions: args.quick ? [1, 0] : [0, 1, 0, 2],
  cpuFiles: args.quick ? 1 : 3,
  interlaced: true,
  ...(args.files !== undefined ? { files: args.files } : {}),
  log: (l) => void process.stderr.write(`${l}\n`),
});

const md = markdown(rep, { quick: args.quick });
process.stdout.write(`\n${md}\n`);
const outDir = join(ROOT, 'eval', 'out');
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'report.json'), JSON.stringify(rep, null, 1) + '\n');
writeFileSync(join(outDir, 'report.md'), md + '\n' + listing(rep) + '\n');
process.stdout.write(`\nwrote ${relative(ROOT, join(outDir, 'report.md'))} and report.json\n`);

// A run over both splits and every type keeps docs/evaluation.md and README's headline current (--quick says so in the table).
if (!args['no-write'] && !types && args.files === undefined && splits.length === SPLITS.length) {
  const docPath = join(ROOT, 'docs', 'evaluation.md');
  const doc = readFileSync(docPath, 'utf8');
  writeFileSync(docPath, spliceMarkers(doc, md));
  process.stdout.write(`updated ${relative(ROOT, docPath)}\n`);
  const readmePath = join(ROOT, 'README.md');
  const readme = readFileSync(readmePath, 'utf8');
  if (readme.includes('<!-- eval:start -->')) {
    writeFileSync(readmePath, spliceMarkers(readme, headline(rep, { quick: args.quick })));
    process.stdout.write('updated the evaluation table in README.md\n');
  }
}
