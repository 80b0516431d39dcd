#!/usr/bin/env node
// The `pagewise` command: see src/cli.ts.
import { main } from '../dist/src/cli.js';

process.exitCode = await main(process.argv.slice(2));
