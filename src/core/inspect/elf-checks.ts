import {
  architectureOfElfMachine,
  elfMachine,
  elfMachineName,
  elfTypeName,
  elfTypes,
  type Architecture,
  type ElfInfo,
} from '../layer/index.js';
import type { AddFinding, InspectReport } from './report.js';

export interface ElfCheckContext {
  add: AddFinding;
  /** The layer's architecture, when known, and where it came from. */
  architecture: Architecture | undefined;
  architectureSource: InspectReport['architectureSource'];
}

/** An ELF file Lambda executes: machine, type, and the dynamic linker it needs. */
export function checkNativeExecutable(context: ElfCheckContext, name: string, elf: ElfInfo): void {
  checkElfMachine(context, name, elf);
  if (elf.type !== elfTypes.executable && elf.type !== elfTypes.sharedObject) {
    context.add('error', 'elf-not-executable', `the ELF file is ${elfTypeName(elf.type)}, not an executable`, name);
  }
  if (elf.interpreter !== undefined) {
    const glibc = /ld-linux|ld64\.so|ld\.so/.test(elf.interpreter) && !/musl/.test(elf.interpreter);
    const advice = glibc
      ? 'it needs a glibc new enough on Lambda (GLIBC_x.y not found otherwise); for Go build with CGO_ENABLED=0 for a static binary'
      : 'make sure it exists on Lambda, or link statically (for Go: CGO_ENABLED=0)';
    context.add('warning', 'elf-dynamic', `dynamically linked with interpreter ${elf.interpreter}: ${advice}`, name);
  }
}

/** Any ELF file in the layer: 64-bit, little-endian, and for the layer's architecture. */
export function checkElfMachine(context: ElfCheckContext, name: string, elf: ElfInfo): void {
  if (elf.bits !== 64)
    context.add(
      'error',
      'elf-not-64-bit',
      `the ELF file is ${elf.bits}-bit (${elfMachineName(elf.machine)}); Lambda runs 64-bit x86-64 and AArch64 only`,
      name,
    );
  if (elf.endianness !== 'little')
    context.add(
      'error',
      'elf-big-endian',
      'the ELF file is big-endian; Lambda runs little-endian x86-64 and AArch64 only',
      name,
    );
  if (context.architecture === undefined) {
    if (architectureOfElfMachine(elf.machine) === undefined && elf.bits === 64) {
      context.add(
        'error',
        'elf-wrong-machine',
        `the ELF file is for ${elfMachineName(elf.machine)}; Lambda runs x86-64 (x86_64) and AArch64 (arm64)`,
        name,
      );
    }
    return;
  }
  if (elf.machine === elfMachine(context.architecture)) return;
  const actual = architectureOfElfMachine(elf.machine);
  if (context.architectureSource === 'ELF header' && actual !== undefined) {
    context.add(
      'error',
      'mixed-architectures',
      `the ELF file is for ${actual} but other binaries in the zip are for ${context.architecture}; one layer zip serves one architecture`,
      name,
    );
    return;
  }
  const source = context.architectureSource === 'option' ? '--arch' : 'the zip file name';
  context.add(
    'error',
    'elf-wrong-machine',
    `the ELF file is for ${elfMachineName(elf.machine)}${actual === undefined ? '' : ` (${actual})`}, but ${source} says ${context.architecture}; on an ${context.architecture} function it fails with "exec format error"`,
    name,
  );
}
