/**
 * Lambda's architecture names are the only ones a user sees. Go's names are
 * derived here, once.
 */
export const architectures = ['x86_64', 'arm64'] as const;
export type Architecture = (typeof architectures)[number];

const goArchitectureOf: Record<Architecture, string> = { x86_64: 'amd64', arm64: 'arm64' };

/** ELF e_machine values: EM_X86_64 and EM_AARCH64. */
const elfMachineOf: Record<Architecture, number> = { x86_64: 62, arm64: 183 };

export function isArchitecture(value: string): value is Architecture {
  return (architectures as readonly string[]).includes(value);
}

export function goArchitecture(architecture: Architecture): string {
  return goArchitectureOf[architecture];
}

export function elfMachine(architecture: Architecture): number {
  return elfMachineOf[architecture];
}

export function architectureOfElfMachine(machine: number): Architecture | undefined {
  return architectures.find((architecture) => elfMachineOf[architecture] === machine);
}

/** The Lambda architecture this machine runs natively, if it is one Lambda has. */
export function hostArchitecture(): Architecture | undefined {
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'arm64';
  return undefined;
}

/**
 * Parses a comma-separated list such as `x86_64,arm64` or `all`. Throws a
 * plain Error naming the bad value; callers wrap it in a CliError that names
 * their flag.
 */
export function parseArchitectures(input: string | readonly string[]): Architecture[] {
  const parts = (typeof input === 'string' ? [input] : input)
    .flatMap((part) => part.split(','))
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) throw new Error('no architecture given; use x86_64, arm64 or all');
  const result = new Set<Architecture>();
  for (const part of parts) {
    if (part === 'all') {
      architectures.forEach((architecture) => result.add(architecture));
    } else if (isArchitecture(part)) {
      result.add(part);
    } else {
      const goName = Object.entries(goArchitectureOf).find(([, go]) => go === part)?.[0];
      const suggestion = goName === undefined ? '' : ` (Lambda calls ${part} "${goName}")`;
      throw new Error(`unknown architecture "${part}"${suggestion}; use x86_64, arm64 or all`);
    }
  }
  // Keep a stable order whatever order the user typed.
  return architectures.filter((architecture) => result.has(architecture));
}
