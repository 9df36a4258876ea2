/**
 * Every stable error code a `CliError` can carry, with the one-line meaning
 * that docs/reference/errors.md spells out. Scripts and tests match on the
 * code, never on the message, so a code once published keeps its meaning.
 * Codes come in blocks per area (the prefix names it); keep each block sorted.
 * After adding one, run `node build/scripts/error-docs.js` to regenerate the docs.
 */
export const errorCodes = {
  // --- general ---
  E_CANCELLED: 'Ctrl-C, SIGTERM or Esc at a prompt stopped the command; nothing was written',
  E_INTERNAL: 'a bug in create-lambda-extension, not a mistake of yours; please report it with the stack',
  E_USAGE: 'a flag or argument is missing, unknown or malformed',

  // --- dev / emulator ---
  E_DEV_BUILD_EMPTY: 'ext dev built the project but the build produced no layer',
  E_DEV_EXTENSION_FAILED: 'the extension failed in the emulator: the report lists its verdicts',
  E_DEV_HOST_UNSUPPORTED: 'ext dev cannot build on this machine: Lambda runs x86_64 and arm64 only; pass --layer',
  E_DEV_LAYER_MISSING: 'the --layer path does not exist',
  E_DEV_LAYER_UNREADABLE: 'the --layer zip cannot be unpacked',
  E_DEV_NODE_NOT_APPLICABLE: '--node does not apply to this run (a --layer, a Go or a standalone layer)',
  E_DEV_NODE_NOT_EXECUTABLE: 'the --node path is not an executable node binary',
  E_DEV_NODE_UNAVAILABLE: "the node of the project's runtime could not be fetched for ext dev",
  E_EMULATOR_BINFMT_MISSING: "--emulation binfmt: no binfmt_misc handler runs the layer's architecture",
  E_EMULATOR_CONCURRENCY: "managedInstances.maxConcurrency is outside Lambda's range per execution environment",
  E_EMULATOR_EMULATION_OFF: 'the layer is for another architecture and --emulation off forbids running it under qemu',
  E_EMULATOR_LAYER_MISSING: 'the layer directory does not exist or is not a folder',
  E_EMULATOR_QEMU_MISSING: "qemu-user, needed to run the layer's foreign binaries, is not installed",
  E_EMULATOR_SPECIAL_FILE: 'the layer folder holds a device, socket or pipe, which no layer zip can hold',
  E_EMULATOR_SYSROOT_MISSING: 'the foreign libraries a dynamic binary of the layer needs under qemu are missing',
  E_EMULATOR_TENANT_ID_INVALID:
    'the tenant ID (--tenant-id) is empty, over 256 characters, or holds a control character',

  // --- function (ext dev --function) ---
  E_FUNCTION_BOOTSTRAP_ARCHITECTURE:
    'the provided.al2023 bootstrap is an ELF for another architecture than this machine, so it cannot run here',
  E_FUNCTION_BOOTSTRAP_MISSING: 'provided.al2023: neither the function (--function) nor the layer has a bootstrap',
  E_FUNCTION_BOOTSTRAP_UNUSABLE: 'the bootstrap is not an executable file (no exec bit, a folder, CRLF after #!)',
  E_FUNCTION_EVENT_INVALID: 'the --event file (or stdin) is not JSON: the message names the file and the line',
  E_FUNCTION_EVENT_UNREADABLE: 'the --event file does not exist, is not a regular file, or is over 64 MiB',
  E_FUNCTION_HANDLER_INVALID: '--handler is not module.function (python3.x, nodejs*.x), or holds a space',
  E_FUNCTION_NODE_CLIENT_MISSING: "the toolkit's Node runtime client (build/src/runtime-client/node) is missing",
  E_FUNCTION_NODE_UNAVAILABLE: 'the node of a nodejs runtime could not be fetched, or --node is not a node binary',
  E_FUNCTION_PATH_INVALID: '--function does not exist, is neither a folder nor a zip, or its zip cannot be unpacked',
  E_FUNCTION_PYTHON_MISSING: 'no python3 on PATH, or --python is not a python interpreter that runs',
  E_FUNCTION_PYTHON_UNSUPPORTED: 'the python is not CPython 3.9 to 3.14, for which awslambdaric is pinned',
  E_FUNCTION_RIC_INSTALL_FAILED: 'pip could not install the pinned awslambdaric into the cache (no pip, network)',
  E_FUNCTION_RUNTIME_MISSING: 'a function is given without --runtime (or "runtime" in dev.function)',
  E_FUNCTION_RUNTIME_UNKNOWN: '--runtime is not provided.al2023, python3.9 to python3.14, nodejs22.x or nodejs24.x',
  E_FUNCTION_WRAPPER_INVALID: 'AWS_LAMBDA_EXEC_WRAPPER names no executable file in the layer or the function',

  // --- add (ext add ci, ext add iac) ---
  E_ADD_FILES_EXIST: 'files ext add would write are already in the project; pass --force to replace them',
  E_ADD_KIND_UNKNOWN: 'the CI provider or IaC kind (ext add, create --ci or --iac) is not one that is generated',

  // --- create ---
  E_CREATE_ARCH_INVALID: '--arch names no architecture, or one that is not x86_64 or arm64',
  E_CREATE_DIRECTORY_MISSING: 'no project directory: pass [dir] or --name',
  E_CREATE_DIRECTORY_NOT_EMPTY: 'the project directory holds files; choose another, or pass --force to add to it',
  E_CREATE_DIRECTORY_UNUSABLE: 'the project directory cannot hold a project: a file, a broken link, unreadable',
  E_CREATE_EVENTS_INVALID: '--events is empty, unknown, or not the events the template always registers for',
  E_CREATE_FLAGS_CONFLICT: 'two flags that do not go together (--standalone or --module with the other language)',
  E_CREATE_FLUSH_INVALID: '--flush is not end, periodic:<ms>, continuous or adaptive, or the template is not telemetry',
  E_CREATE_LANGUAGE_UNKNOWN: '--lang is neither go nor ts',
  E_CREATE_MODULE_INVALID: '--module is not a Go module path that go mod init accepts',
  E_CREATE_NAME_INVALID: 'the extension name is not a valid file, npm package or Go module name',
  E_CREATE_NODE_VERSION_INVALID: '--node-version is not a Node.js major that a standalone layer can bundle',
  E_CREATE_NO_TERMINAL: '--interactive without a terminal to ask on',
  E_CREATE_TOOLKIT_PACK_FAILED: "npm pack of the toolkit, for the project's vendor/ folder, failed",

  // --- layer ---
  E_LAYER_NO_EXTENSIONS: 'the layer has no file at the top of extensions/, so Lambda would start nothing from it',
  E_LAYER_TOO_LARGE: "the layer is over Lambda's unzipped limit (or holds more entries than it could)",
  E_LAYER_UNPACK_FAILED: 'ext dev could not write the unpacked layer to its temporary folder',
  E_LAYER_ZIP_REFUSED: 'the layer zip is corrupt or unsafe to unpack (links out of the layer, duplicates, bombs)',
  E_LAYER_ZIP_UNREADABLE: 'the file is not a readable zip (truncated, not a zip at all)',

  // --- rename ---
  E_RENAME_NAME_INVALID: 'the new name is not a valid extension or npm package name',
  E_RENAME_SAME_NAME: 'the extension already has that name',

  // --- templates (create and ext add write through them) ---
  E_TEMPLATE_FILE_APPEARED: 'a file appeared at a path being written; nothing was changed',
  E_TEMPLATE_PATH_BLOCKED: 'a folder, file or outward link stands where a template file or folder goes',
  E_TEMPLATE_STAGING_FAILED: 'the temporary folder the files are written into first cannot be made',
  E_TEMPLATE_UNKNOWN: '--template names no template for the language',
  E_TEMPLATE_WRITE_FAILED: 'moving the written files into place failed; nothing was changed',

  // --- cli ---
  E_USAGE_BAD_VALUE: "a flag's value is not one it accepts (not one of its choices, or out of range)",
  E_USAGE_CONFLICTING_FLAGS: 'two flags that cannot be used together were both given',
  E_USAGE_MISSING_ARGUMENT: 'the command needs an argument that was not given',
  E_USAGE_MISSING_VALUE: 'a flag that takes a value was given without one',
  E_USAGE_UNKNOWN_COMMAND: 'ext was given a command it does not have',
  E_USAGE_UNKNOWN_FLAG: 'the command has no such flag',

  // --- basics ---
  E_FOLDER_NOT_CREATABLE:
    'a folder to write into (--out, a new project) cannot be created: a file in the way, no permission, or a filesystem that takes no folders',
  E_HOST_UNSUPPORTED: 'the command needs a host it is not running on (ext dev needs Linux on x86_64 or arm64)',
  E_PEER_DEPENDENCY_MISSING:
    'an optional package the command needs (esbuild, an AWS SDK client) is not installed in the project',

  // --- standalone ---
  E_STANDALONE_CACHE_LOCATION:
    "the node cache's fetch records are set inside the cache itself, where they vouch for nothing",
  E_STANDALONE_CACHE_UNSAFE:
    'a folder or file of the node cache is not a plain folder or file, is owned by another user or writable by others',
  E_STANDALONE_CACHE_UNUSABLE: 'the node cache cannot be read or written (permissions, a full disk)',
  E_STANDALONE_FETCH_FAILED: 'npm could not fetch the Node.js binary package (network, registry, proxy)',
  E_STANDALONE_INTEGRITY_MISMATCH: "the fetched Node.js package does not match the registry's sha512 integrity",
  E_STANDALONE_NODE_UNRESOLVED: 'the Node.js major in "nodeVersion" could not be resolved to a release through npm',
  E_STANDALONE_NODE_VERSION_INVALID: '"nodeVersion" is neither a Node.js major nor an exact release',
  E_STANDALONE_NPM_MISSING: 'npm is not on PATH; a standalone layer fetches its Node.js binary through npm',
  E_STANDALONE_PACKAGE_INVALID: 'the fetched Node.js package holds no usable Linux node binary for the architecture',

  // --- publish ---
  E_AWS_ACCESS_DENIED: "an AWS call was denied: the caller's IAM policy lacks the action the message names",
  E_AWS_CALL_FAILED: 'an AWS call failed for a reason AWS gave in the message',
  E_AWS_CREDENTIALS: 'no usable AWS credentials, or AWS rejected them (expired, wrong, not signed)',
  E_AWS_THROTTLED: 'AWS throttled the calls and the retries ran out',
  E_AWS_UNEXPECTED_ANSWER: 'AWS answered a call without what it should hold (a version ARN, an account, a statement)',
  E_AWS_UNREACHABLE: 'AWS (or --endpoint-url) could not be reached: network, DNS or proxy',
  E_PUBLISH_ARCH_NOT_PACKED: '--arch asks for an architecture ext pack did not pack',
  E_PUBLISH_BUCKET_INVALID: '--s3-bucket is not a valid bucket name, or one bucket is given for several regions',
  E_PUBLISH_BUCKET_NOT_FOUND: 'the --s3-bucket bucket does not exist',
  E_PUBLISH_BUCKET_REQUIRED: 'a layer zip is too large to send inline, so it needs --s3-bucket',
  E_PUBLISH_BUCKET_WRONG_REGION: "the --s3-bucket bucket is not in the layer's region, where Lambda reads it",
  E_PUBLISH_ENDPOINT_URL_INVALID: '--endpoint-url is not an http:// or https:// URL',
  E_PUBLISH_HASH_MISMATCH: "Lambda's CodeSha256 of the published layer is not the zip's: the bytes changed on the way",
  E_PUBLISH_LAYER_NAME_INVALID:
    '--layer-name is not a valid Lambda layer name, or would put both architectures into one layer',
  E_PUBLISH_MANIFEST_INVALID: 'dist/manifest.json is not a manifest ext pack wrote (not JSON, fields missing)',
  E_PUBLISH_MANIFEST_MISSING: 'there is no dist/manifest.json, so nothing ext pack verified to publish',
  E_PUBLISH_METADATA_INVALID: "--description, --license-info or --compatible-runtimes break Lambda's limits",
  E_PUBLISH_NOT_A_PROJECT: 'the folder has no lambda-extension.json, so it is not an extension project',
  E_PUBLISH_PERMISSION_CONFLICT:
    'the layer version already has a permission statement of that id granting something else',
  E_PUBLISH_PRINCIPAL_INVALID: '--principal or --organization is not an AWS account id or Organizations id',
  E_PUBLISH_REGION_INVALID: '--region (or AWS_REGION, the profile) is not an AWS region name',
  E_PUBLISH_REGION_MISSING: 'no --region given, and no region is configured',
  E_PUBLISH_STALE: 'the sources changed after ext pack made the zips',
  E_PUBLISH_ZIP_CHANGED: "a zip's sha256 is not the one ext pack recorded: it changed after it was verified",
  E_PUBLISH_ZIP_INVALID: 'ext inspect finds errors in a zip listed in the manifest',
  E_PUBLISH_ZIP_OUTSIDE_OUT: 'the manifest lists a zip outside the output folder, which ext pack did not write',
  E_PUBLISH_ZIP_UNREADABLE: 'a zip listed in the manifest is missing, not a regular file, or too large to be a layer',

  // --- build ---
  E_BUILD_BUNDLE_FAILED: 'esbuild could not bundle the TypeScript entry; its messages are printed above',
  E_BUILD_COMPILE_FAILED: "go build failed for an architecture; the compiler's messages are printed above",
  E_BUILD_GO_MISSING: 'go is not on PATH; ext build needs Go 1.21 or later for a Go extension',
  E_BUILD_GO_TOO_OLD: 'go.mod asks for a newer go than the one on PATH, and ext build downloads no toolchains',
  E_BUILD_TEMPORARY_FOLDER: 'no temporary folder could be made for the compiler (set TMPDIR to a writable folder)',
  E_BUILD_TOOL_UNRUNNABLE: 'go or tsc is there but could not be started',
  E_BUILD_TYPESCRIPT_MISSING: 'the project has a tsconfig.json but typescript is not installed in it (npm install)',
  E_BUILD_TYPE_ERRORS: "the project's tsc found type errors; --no-typecheck builds anyway",
  E_BUILD_WRITE_FAILED:
    'a built layer could not be written into --out (disk full, or the folder changed under the build)',

  // --- commands ---
  E_INSPECT_LAYER_BROKEN: 'ext inspect found errors: the zip would not work as an extension layer (findings above)',
  E_PUBLISH_TARGETS_FAILED: "some layer versions were not published; each failed target's error is printed above",

  // --- config ---
  E_CONFIG_INVALID: 'lambda-extension.json breaks its schema: a field is missing, unknown or of the wrong kind',
  E_CONFIG_MISSING: 'there is no lambda-extension.json in the project folder (--cwd)',
  E_CONFIG_NOT_JSON: 'lambda-extension.json is not valid JSON',
  E_CONFIG_OVERRIDE_INVALID:
    'a flag that overrides lambda-extension.json (--name, --entry, --extension-version, --node-version, --standalone) has a value it refuses',
  E_CONFIG_PROJECT_MISSING: 'the project folder given with --cwd does not exist',
  E_CONFIG_TOO_LARGE: 'lambda-extension.json is over 1 MiB or nests over 32 levels deep, so it is not read',
  E_CONFIG_UNREADABLE: 'lambda-extension.json exists but cannot be read (permissions, or it is a folder)',

  // --- pack ---
  E_PACK_LAYER_CHANGED: 'the layer folder changed while it was being zipped: another ext build wrote to the same --out',
  E_PACK_NODE_MISSING:
    "a standalone layer's bundled node is missing from the built layer (--no-build after a plain build)",
  E_PACK_NOT_BUILT: 'there is no built layer (no extensions/ folder) to zip: run ext build, or drop --no-build',
  E_PACK_VERIFY_FAILED:
    'the zip ext pack wrote failed its own checks, so it was not kept; the previous zip is unchanged',
  E_PACK_WRITE_FAILED: 'a zip could not be written into --out (disk full, permissions)',
  E_PACK_ZIPS_MISSING: "the project's layer zips are not in dist/ (ext inspect without a zip): run ext pack first",

  // --- zip ---
  E_ZIP_LAYER_ENTRY_INVALID:
    'the layer folder holds what a zip cannot carry: a broken symbolic link, a device or FIFO, or a link loop',
  E_ZIP_NOT_A_FILE: 'the path given as a zip is a folder, device, FIFO or socket',
  E_ZIP_NOT_FOUND: 'the zip file given does not exist',
  E_ZIP_SOURCE_DATE_EPOCH:
    'SOURCE_DATE_EPOCH is not whole seconds, or is outside the dates a zip can hold (1980 to 2043)',
  E_ZIP_TOO_LARGE: "the zip is larger than any layer zip can be (Lambda's unzipped limit plus headers)",
  E_ZIP_UNREADABLE: 'the zip file cannot be read (permissions, an I/O error)',

  // --- out ---
  E_OUT_CHANGED_DURING_RUN: 'something in --out changed while it was being checked: another run writes the same --out',
  E_OUT_NOT_OWNED:
    '--out holds a file or folder that ext build or ext pack did not write, or that changed since; it is left alone',
  E_OUT_REFUSED: '--out is the filesystem root, the project folder or a folder that holds it',
  E_OUT_UNREADABLE: 'something in --out cannot be read',
  E_OUT_UNWRITABLE: '--out is on a read-only filesystem or not writable',
} as const satisfies Record<`E_${string}`, string>;

export type ErrorCode = keyof typeof errorCodes;
