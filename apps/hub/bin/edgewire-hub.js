#!/usr/bin/env node
import { runCli } from '../../../scripts/run-cli.mjs';

await runCli(new URL('../', import.meta.url));
