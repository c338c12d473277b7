import { writeFileSync } from 'node:fs';
import { configReferenceMarkdown } from '../src/config/index.ts';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), configReferenceMarkdown());
console.log('wrote docs/configuration.md');
