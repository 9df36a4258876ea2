import { runCli } from './run.js';
export async function main(): Promise<void> {
  await runCli(async () => {});
}
