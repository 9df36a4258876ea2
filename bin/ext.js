#!/usr/bin/env node
import { main } from '../build/src/cli/ext.js';

await main();
