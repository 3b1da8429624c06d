#!/usr/bin/env node
// Entry point of the `sluice` command. Runs the TypeScript sources through tsx so that
// `npm install && npm start` needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
