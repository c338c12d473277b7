import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Compile the AssemblyScript source that `npm run build:wasm` turns into `committed` (one of its
 * `asc ... -o <file>` commands, joined by &&) into a temporary file and return both binaries.
 */
export function rebuildWasm(committed: URL): { built: Buffer; committed: Buffer } {
  const target = relative(ROOT, fileURLToPath(committed));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const commands = pkg.scripts['build:wasm']!.split('&&').map((c) => c.trim().split(/\s+/));
  const args = commands.find((c) => c[0] === 'asc' && c[c.indexOf('-o') + 1] === target)?.slice(1);
  if (!args) throw new Error(`npm run build:wasm has no asc command writing ${target}`);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-wasm-'));
  try {
    const out = join(dir, 'kernels.wasm');
    args[args.indexOf('-o') + 1] = out;
    execFileSync(process.execPath, [join(ROOT, 'node_modules/assemblyscript/bin/asc.js'), ...args], {
      cwd: ROOT,
      stdio: 'pipe',
    });
    return { built: readFileSync(out), committed: readFileSync(committed) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
