#!/usr/bin/env node
import { main } from '../build/cli/create.mjs';

await main();
