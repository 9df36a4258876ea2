/**
 * The Node.js binaries published as node-linux-<arch> need glibc 2.28 and
 * libstdc++, which Amazon Linux 2023 has and Amazon Linux 2 (glibc 2.26) does
 * not. These are the Lambda runtimes built on Amazon Linux 2023, as
 * PublishLayerVersion spells them; Lambda accepts at most 15 per layer version.
 */
export const standaloneCompatibleRuntimes = [
  'provided.al2023',
  'nodejs20.x',
  'nodejs22.x',
  'nodejs24.x',
  'python3.12',
  'python3.13',
  'python3.14',
  'java21',
  'java25',
  'dotnet8',
  'dotnet10',
  'ruby3.3',
  'ruby3.4',
] as const;

/** Lambda refuses a CompatibleRuntimes list longer than this. */
export const maximumCompatibleRuntimes = 15;

/** One sentence for build and pack output and the generated README. */
export const standaloneCompatibilityNote =
  'the bundled node needs glibc 2.28 and libstdc++: it runs beside Amazon Linux 2023 runtimes (provided.al2023, nodejs20.x+, python3.12+, java21+, dotnet8+, ruby3.3+), not Amazon Linux 2 ones (provided.al2, python3.11 and older, java17 and older)';

// Defined with the config's "nodeVersion" field, which they check and default.
export { defaultStandaloneNodeVersion, nodeVersionPattern } from '../config.js';
