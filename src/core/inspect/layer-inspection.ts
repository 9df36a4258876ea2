import {
  architectureFromFileName,
  architectureOfElfMachine,
  extensionsFolder,
  isExtensionPath,
  maximumExtensions,
  noExtensionsProblem,
  normalizedEntryPath,
  unusableNameProblem,
  type Architecture,
} from '../layer/index.js';
import { isDirectoryEntry, isSymlinkEntry, type ZipArchive } from '../zip/index.js';
import { checkElfMachine, checkNativeExecutable, type ElfCheckContext } from './elf-checks.js';
import { binaryFormatName, checkExecutable, checkScriptText } from './executables.js';
import { clearsNodeOptions, launcherTargets, LauncherTooComplexError, type LauncherTarget } from './launcher.js';
import { checkWrapper, isWrapperPath } from './wrapper.js';
import {
  type AddFinding,
  type FindingSeverity,
  type InspectedExtension,
  type InspectedWrapper,
  type InspectFinding,
  type InspectOptions,
  type InspectReport,
} from './report.js';
import {
  checkLinks,
  checkSizes,
  checkZipStructure,
  readEntryHead,
  type EntryReader,
  type FileEntry,
  type ZipStructure,
} from './zip-structure.js';

/**
 * One run of `ext inspect` over a parsed zip: collects the entries, then
 * checks the layout Lambda expects and every extension it would start. The
 * archive-level checks live in zip-structure.ts, ELF ones in elf-checks.ts,
 * launcher analysis in launcher.ts.
 */
export class LayerInspection {
  private readonly findings: InspectFinding[] = [];
  private readonly files = new Map<string, FileEntry>();
  /** Every folder the zip unpacks to, with or without its own entry ("a/b", no trailing slash). */
  private readonly directoryNames = new Set<string>();
  private readonly explicitDirectoryNames = new Set<string>();
  private fileEntries = 0;
  private directoryEntries = 0;
  private architecture: Architecture | undefined;
  private architectureSource: InspectReport['architectureSource'];
  private readonly extensions: InspectedExtension[] = [];
  private readonly wrappers: InspectedWrapper[] = [];
  /** Paths that already have an ELF finding, so each ELF file is reported once (kept in a set: linear time). */
  private readonly elfFindingPaths = new Set<string>();
  private structure: ZipStructure = { unsafeEntries: new Set(), inflate: true };
  private readonly addFinding: AddFinding = (...finding) => this.add(...finding);

  constructor(
    private readonly readEntry: EntryReader,
    private readonly archive: ZipArchive,
    private readonly zipPath: string,
    private readonly options: InspectOptions,
  ) {}

  private add(severity: FindingSeverity, code: string, message: string, entryPath?: string): void {
    if (entryPath !== undefined && code.startsWith('elf-')) this.elfFindingPaths.add(entryPath);
    this.findings.push(
      entryPath === undefined ? { severity, code, message } : { severity, code, path: entryPath, message },
    );
  }

  private elfContext(): ElfCheckContext {
    return { add: this.addFinding, architecture: this.architecture, architectureSource: this.architectureSource };
  }

  run(): InspectReport {
    this.structure = checkZipStructure(this.archive, this.addFinding);
    this.checkEntries();
    checkLinks(this.archive, this.files.values(), this.addFinding);
    this.chooseArchitecture();
    const extensionFiles = this.checkLayout();
    extensionFiles.sort((a, b) => (a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0));
    for (const file of extensionFiles) this.checkExtension(file);
    for (const [name, file] of [...this.files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (isWrapperPath(name)) this.wrappers.push(checkWrapper(file, this.addFinding));
    }
    this.checkOtherElfFiles(new Set(extensionFiles.map((file) => file.entry.name)));
    const unzippedBytes = checkSizes(this.archive, this.addFinding);
    const errors = this.findings.filter((finding) => finding.severity === 'error').length;
    return {
      zipPath: this.zipPath,
      ok: errors === 0,
      errors,
      warnings: this.findings.length - errors,
      ...(this.architecture === undefined
        ? {}
        : { architecture: this.architecture, architectureSource: this.architectureSource }),
      entries: this.archive.entries.length,
      files: this.fileEntries,
      directories: this.directoryEntries,
      impliedDirectories: [...this.directoryNames].filter((name) => !this.explicitDirectoryNames.has(name)).length,
      extensions: this.extensions,
      wrappers: this.wrappers,
      zippedBytes: this.archive.byteLength,
      unzippedBytes,
      findings: this.findings,
    };
  }

  /** Path safety, duplicates, macOS litter, CRCs; collects files and directories. */
  private checkEntries(): void {
    const seen = new Set<string>();
    const macosLitter: string[] = [];
    for (const entry of this.archive.entries) {
      const name = entry.name;
      // One path however it is spelt (`./a`, `a//b`): unzip writes both spellings to the same file.
      const unpackedPath = normalizedEntryPath(name);
      if (seen.has(unpackedPath) && unpackedPath !== '')
        this.add(
          'error',
          'duplicate-entry',
          unpackedPath === name
            ? 'the zip holds this path twice; which copy Lambda unpacks is undefined'
            : `the zip holds this path twice (as "${unpackedPath}" too); which copy Lambda unpacks is undefined`,
          name,
        );
      seen.add(unpackedPath);
      if (name.includes('\\')) {
        this.add(
          'error',
          'backslash-path',
          'the path contains a backslash: the zip was made on Windows with a tool that does not write "/" separators, so Linux unpacks a file whose name contains "\\" instead of a folder',
          name,
        );
      }
      if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) {
        this.add('error', 'absolute-path', 'the path is absolute; layer paths must be relative to /opt', name);
      }
      if (name.split(/[/\\]/).includes('..')) {
        this.add('error', 'parent-path', 'the path contains ".." and would unpack outside /opt (or be refused)', name);
      }
      const unusable = unusableNameProblem(name);
      if (unusable !== undefined) this.add('error', unusable.code, unusable.message, name);
      const segments = name.split('/');
      if (segments[0] === '__MACOSX' || segments.includes('.DS_Store')) macosLitter.push(name);
      // Parent folders exist even when the zip has no entries for them; the empty
      // prefix of an absolute path ("/a/b") is not a folder.
      for (let index = 1; index < segments.length; index++) {
        const parent = segments.slice(0, index).join('/');
        if (parent !== '') this.directoryNames.add(parent);
      }
      if (isDirectoryEntry(entry)) {
        this.directoryEntries++;
        const folder = name.replace(/\/+$/, '');
        this.directoryNames.add(folder);
        this.explicitDirectoryNames.add(folder);
        continue;
      }
      this.fileEntries++;
      const file: FileEntry = { entry, isElf: false };
      this.files.set(name, file);
      if (this.structure.inflate && !this.structure.unsafeEntries.has(entry)) {
        readEntryHead(this.readEntry, file, this.addFinding);
      }
    }
    if (macosLitter.length > 0) {
      this.add(
        'warning',
        'macos-metadata',
        `${macosLitter.length} macOS metadata ${macosLitter.length === 1 ? 'entry (__MACOSX/, .DS_Store) ends' : 'entries (__MACOSX/, .DS_Store) end'} up in /opt; zip with "zip -r -X" or exclude them`,
        macosLitter[0],
      );
    }
  }

  private chooseArchitecture(): void {
    if (this.options.architecture !== undefined) {
      this.architecture = this.options.architecture;
      this.architectureSource = 'option';
      return;
    }
    const fromName = architectureFromFileName(this.zipPath);
    if (fromName !== undefined) {
      this.architecture = fromName;
      this.architectureSource = 'file name';
      return;
    }
    // Extensions first: they decide what the layer is for.
    const elfFiles = [...this.files.values()].filter((file) => file.elf !== undefined);
    elfFiles.sort((a, b) => Number(!isExtensionPath(a.entry.name)) - Number(!isExtensionPath(b.entry.name)));
    for (const file of elfFiles) {
      const architecture = architectureOfElfMachine(file.elf!.machine);
      if (architecture !== undefined) {
        this.architecture = architecture;
        this.architectureSource = 'ELF header';
        return;
      }
    }
  }

  /** Returns the files Lambda will start: regular files directly under extensions/. */
  private checkLayout(): FileEntry[] {
    const names = [...this.files.keys()];
    const extensionFiles = [...this.files.values()].filter((file) => isExtensionPath(file.entry.name));
    const hasFolder = this.directoryNames.has(extensionsFolder);
    if (!hasFolder) {
      const wrapped = names.find((name) => /^(.+?)\/extensions\/[^/]+$/.test(name));
      const misspelled = [...this.directoryNames].find((name) => !name.includes('/') && /^extensions?$/i.test(name));
      if (wrapped !== undefined) {
        const wrapper = wrapped.slice(0, wrapped.lastIndexOf('/extensions/'));
        this.add(
          'error',
          'wrapped-extensions-dir',
          `extensions/ sits inside "${wrapper}/": Lambda unpacks it to /opt/${wrapper}/extensions, where nothing is started; zip the contents of ${wrapper}/ instead (cd ${wrapper} && zip -r ../layer.zip .)`,
          wrapped,
        );
      } else if (misspelled !== undefined) {
        this.add(
          'error',
          'missing-extensions-dir',
          `there is no top-level extensions/ folder, only "${misspelled}/"; Lambda starts only files in /opt/extensions (exact spelling, lower case)`,
          `${misspelled}/`,
        );
      } else {
        this.add(
          'error',
          'missing-extensions-dir',
          `${noExtensionsProblem} (there is no top-level extensions/ folder); put the executable at extensions/<name>`,
        );
      }
      return [];
    }
    if (extensionFiles.length === 0) {
      this.add(
        'error',
        'empty-extensions-dir',
        `${noExtensionsProblem} (extensions/ holds no files); put the executable at extensions/<name>`,
        'extensions/',
      );
    }
    if (extensionFiles.length > maximumExtensions) {
      this.add(
        'error',
        'too-many-extensions',
        `extensions/ holds ${extensionFiles.length} files; Lambda starts at most ${maximumExtensions} extensions per function (all layers together)`,
        'extensions/',
      );
    }
    const nested = [...this.directoryNames].filter((name) => isExtensionPath(name));
    for (const folder of nested.sort()) {
      this.add(
        'warning',
        'nested-extension-dir',
        `Lambda does not start anything inside folders under extensions/; move executables up to extensions/<name>`,
        `${folder}/`,
      );
    }
    return extensionFiles;
  }

  private checkExtension(file: FileEntry): void {
    const name = file.entry.name;
    const extension: InspectedExtension = { name: name.slice('extensions/'.length), kind: 'other' };
    this.extensions.push(extension);
    if (isSymlinkEntry(file.entry)) {
      extension.kind = 'symlink';
      return;
    }
    checkExecutable(
      file.entry,
      'Lambda starts every file in /opt/extensions, so this one fails with "permission denied" (Extension.LaunchError)',
      this.addFinding,
    );
    const data = file.head;
    if (data === undefined) return;
    if (file.elf !== undefined) {
      extension.kind = 'elf';
      if (file.elf.interpreter !== undefined) extension.interpreter = file.elf.interpreter;
      checkNativeExecutable(this.elfContext(), name, file.elf);
      return;
    }
    if (file.isElf) return; // damaged ELF, already reported
    if (data.subarray(0, 2).toString('latin1') !== '#!') {
      const format = binaryFormatName(data);
      if (format !== undefined) {
        this.add(
          'error',
          'not-linux-executable',
          `this is a ${format}, which Linux cannot run; build for Linux (GOOS=linux)`,
          name,
        );
      } else {
        this.add(
          'error',
          'missing-shebang',
          'the file is neither an ELF binary nor a script starting with "#!", so the kernel cannot run it (exec format error)',
          name,
        );
      }
      return;
    }
    extension.kind = 'script';
    const script = data.toString('utf8');
    const shebang = checkScriptText(script, name, this.addFinding);
    extension.interpreter = shebang.interpreter;
    let needsNode = shebang.program === 'node';
    let targets: LauncherTarget[];
    try {
      targets = launcherTargets(script, name);
    } catch (error) {
      if (!(error instanceof LauncherTooComplexError)) throw error;
      this.add(
        'warning',
        'launcher-not-analysed',
        `could not analyse the launcher (${error.message}); check by hand that what it runs is in the layer`,
        name,
      );
      targets = [];
    }
    const resolved: string[] = [];
    // The bundled node first, so that its own finding replaces the generic ones for a dynamic ELF.
    for (const target of targets) {
      const bundled = target.bundledInterpreter;
      if (bundled === undefined || (target.interpreter !== 'node' && target.interpreter !== 'nodejs')) continue;
      // The launcher runs a node shipped in the layer, so neither PATH's nor the script's #! matters.
      if (extension.bundledNode === undefined && this.checkBundledNode(name, bundled)) extension.bundledNode = bundled;
    }
    for (const target of targets) {
      if (target.path === undefined) {
        this.add(
          'warning',
          'launcher-target-unresolved',
          `line ${target.line} runs a path this check cannot resolve (${target.text.trim()}); make sure it exists in the layer`,
          name,
        );
        continue;
      }
      resolved.push(target.path);
      if (target.interpreter === 'node' && target.bundledInterpreter === undefined) needsNode = true;
      needsNode = this.checkLauncherTarget(name, target) || needsNode;
    }
    if (resolved.length > 0) extension.targets = resolved;
    const runsNode = targets.some((target) => target.interpreter === 'node' || target.interpreter === 'nodejs');
    if (runsNode && !clearsNodeOptions(script)) {
      this.add(
        'warning',
        'launcher-keeps-node-options',
        'the launcher runs node with the function\'s NODE_OPTIONS, so a --require preload meant for the function (an APM layer\'s) runs in the extension, or stops it before it registers; add "unset NODE_OPTIONS" before exec',
        name,
      );
    }
    if (needsNode) {
      this.add(
        'warning',
        'needs-node-runtime',
        'the extension runs "node" from PATH, which only the Node.js managed runtimes provide; with other runtimes it fails with "node: not found"',
        name,
      );
    }
  }

  /**
   * A standalone layer's node: an ELF for the layer's architecture (any
   * other is an error: exec format error on Lambda). Its dynamic linker is
   * expected (node-linux-* binaries need glibc 2.28), so instead of the
   * generic elf-dynamic warning the report says which runtimes it runs on.
   */
  private checkBundledNode(launcher: string, nodePath: string): boolean {
    const file = this.files.get(nodePath);
    if (file?.elf === undefined) {
      if (file !== undefined && file.head !== undefined && !file.isElf) {
        this.add(
          'error',
          'bundled-node-not-elf',
          `${launcher} runs /opt/${nodePath} as node, but it is not an ELF binary`,
          nodePath,
        );
      }
      return false;
    }
    this.elfFindingPaths.add(nodePath);
    const before = this.findings.length;
    checkElfMachine(this.elfContext(), nodePath, file.elf);
    if (this.findings.length > before) return false;
    this.add(
      'warning',
      'bundled-node-al2023',
      `standalone layer: ${launcher.slice('extensions/'.length)} runs this node, which needs glibc 2.28 and libstdc++: attach the layer to Amazon Linux 2023 runtimes (provided.al2023, nodejs20.x+, python3.12+, java21+, dotnet8+, ruby3.3+), not Amazon Linux 2 ones`,
      nodePath,
    );
    return true;
  }

  /** Returns whether the target itself needs node (a `#!/usr/bin/env node` script). */
  private checkLauncherTarget(launcher: string, target: LauncherTarget): boolean {
    const targetPath = target.path!;
    const file = this.files.get(targetPath);
    if (file === undefined) {
      const what = this.directoryNames.has(targetPath) ? 'is a folder, not a file' : 'is not in the zip';
      this.add(
        'error',
        'launcher-target-missing',
        `line ${target.line} runs /opt/${targetPath}, which ${what}`,
        launcher,
      );
      return false;
    }
    if (!target.direct) return false;
    // Run directly, the target needs its own exec bit and a valid first line.
    checkExecutable(file.entry, `${launcher} runs it directly, so it fails with "permission denied"`, this.addFinding);
    if (file.head === undefined || file.isElf) {
      if (file.elf !== undefined && !this.elfFindingPaths.has(targetPath))
        checkNativeExecutable(this.elfContext(), targetPath, file.elf);
      return false;
    }
    const shebang = checkScriptText(file.head.toString('utf8'), targetPath, this.addFinding);
    return shebang.program === 'node';
  }

  private checkOtherElfFiles(extensionNames: Set<string>): void {
    for (const file of this.files.values()) {
      if (file.elf === undefined || extensionNames.has(file.entry.name)) continue;
      if (this.elfFindingPaths.has(file.entry.name)) continue;
      checkElfMachine(this.elfContext(), file.entry.name, file.elf);
    }
  }
}
