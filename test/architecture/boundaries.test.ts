/**
 * Proves the architecture rules in .dependency-cruiser.cjs hold on the real src and actually
 * fire: a copy of src in a temp dir gets one injected violation per rule.
 */
import { cp, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

async function violationsIn(baseDir: string): Promise<IViolation[]> {
  const options = await extractDepcruiseOptions(join(root, '.dependency-cruiser.cjs'));
  const result = await cruise(
    ['src'],
    { ...options, validate: true, baseDir },
    {},
    { tsConfig: extractTSConfig(join(baseDir, 'tsconfig.json')) },
  );
  const output = result.output as ICruiseResult;
  return output.summary.violations;
}

function describeViolations(v: IViolation[]): string[] {
  return v.map((x) => `${x.rule.name}: ${x.from} -> ${x.to}`);
}

describe('architecture boundaries', () => {
  it('the real src has no violations', async () => {
    const v = await violationsIn(root);
    expect(describeViolations(v)).toEqual([]);
  }, 30_000);

  describe('each rule fires on an injected violation', () => {
    let dir = '';
    let violations: IViolation[] = [];

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'vigil-arch-'));
      await cp(join(root, 'src'), join(dir, 'src'), { recursive: true });
      await cp(join(root, 'tsconfig.json'), join(dir, 'tsconfig.json'));
      await symlink(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
      const put = async (path: string, text: string): Promise<void> => {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), text);
      };
      // Two fixture modules: b reaches into a's internals, and also (legally) through its index.
      await put('src/zzprobea/internal.ts', 'export const secret = 1;\n');
      await put('src/zzprobea/index.ts', "export { secret } from './internal.ts';\n");
      await put(
        'src/zzprobeb/index.ts',
        "import { secret } from '../zzprobea/internal.ts';\nimport * as a from '../zzprobea/index.ts';\nexport const x = [secret, a];\n",
      );
      await put('src/zzprobeb/uses-av.ts', "import 'node-av';\nexport {};\n");
      await put('src/detect/zz-probe-notify.ts', "import * as n from '../notify/index.ts';\nexport const x = n;\n");
      await put(
        'src/zzprobec/one.ts',
        "import { two } from './two.ts';\nexport const one = (): number => two() + 1;\n",
      );
      await put(
        'src/zzprobec/two.ts',
        "import { one } from './one.ts';\nexport const two = (): number => one() + 1;\n",
      );
      await put('src/shared/zz-probe-reach.ts', "import * as a from '../zzprobea/index.ts';\nexport const x = a;\n");
      violations = await violationsIn(dir);
    }, 30_000);

    afterAll(async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    const cases: [rule: string, from: string, to: RegExp][] = [
      ['modules-only-through-index', 'src/zzprobeb/index.ts', /^src\/zzprobea\/internal\.ts$/],
      ['node-av-only-in-ingest-and-simulate', 'src/zzprobeb/uses-av.ts', /node_modules\/node-av\//],
      ['detectors-never-import-notify', 'src/detect/zz-probe-notify.ts', /^src\/notify\/index\.ts$/],
      ['no-circular', 'src/zzprobec/one.ts', /^src\/zzprobec\/two\.ts$/],
      ['shared-imports-nothing', 'src/shared/zz-probe-reach.ts', /^src\/zzprobea\/index\.ts$/],
    ];
    it.each(cases)('%s', (rule, from, to) => {
      const hit = violations.filter((v) => v.rule.name === rule && v.from === from && to.test(v.to));
      expect(hit, describeViolations(violations).join('\n')).toHaveLength(1);
    });

    it('importing another module through its index.ts is allowed', () => {
      const viaIndex = violations.filter((v) => v.from === 'src/zzprobeb/index.ts' && v.to === 'src/zzprobea/index.ts');
      expect(viaIndex).toEqual([]);
    });
  });
});
