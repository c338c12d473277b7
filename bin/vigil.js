#!/usr/bin/env node
// Vigil ships as TypeScript run through tsx: no build step between a clone and `npm start`.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
