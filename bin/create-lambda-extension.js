#!/usr/bin/env node
import { main } from '../build/src/cli/create.js';

await main();
