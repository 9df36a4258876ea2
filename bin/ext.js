#!/usr/bin/env node
import { main } from '../build/cli/ext.mjs';

await main();
