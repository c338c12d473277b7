/**
 * Stores opened by a test, closed (and their temporary folders removed) after each test:
 * call `storeFixture('vigil-x-')` at the top of the test file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { openStore, type Store } from '../../src/store/index.ts';

export interface StoreFixture {
  /** A path for a database file in a fresh temporary folder. */
  tmpDb(): string;
  /** openStore(), closed after the test (in memory by default). */
  open(path?: string, opts?: Parameters<typeof openStore>[1]): Store;
}

export function storeFixture(prefix: string): StoreFixture {
  const stores: Store[] = [];
  const dirs: string[] = [];
  afterEach(() => {
    for (const s of stores.splice(0)) s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return {
    tmpDb() {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return join(dir, 'vigil.db');
    },
    open(path = ':memory:', opts) {
      const s = openStore(path, opts);
      stores.push(s);
      return s;
    },
  };
}
