/**
 * Every stable error code a `CliError` can carry, with the one-line meaning
 * that docs/reference/errors.md spells out. Scripts and tests match on the
 * code, never on the message, so a code once published keeps its meaning.
 * Codes come in blocks per area (the prefix names it); keep each block sorted.
 * After adding one, run `node build/scripts/error-docs.js` to regenerate the docs.
 */
export const errorCodes = {
  E_CANCELLED: 'Ctrl-C, SIGTERM or Esc at a prompt stopped the command; nothing was written',
  E_INTERNAL: 'a bug in create-lambda-extension, not a mistake of yours; please report it with the stack',
  E_USAGE: 'a flag or argument is missing, unknown or malformed',

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
} as const satisfies Record<`E_${string}`, string>;

export type ErrorCode = keyof typeof errorCodes;
