/**
 * Lambda's limits on layers, defined here once. Messages name them through `limitText`, so the numbers
 * live only in this file. Kept free of imports: `ext`'s flags and tables load it on every command.
 */

const mebibyte = 1024 * 1024;
/** Lambda's limits on a layer, in MiB as AWS counts them (and calls "MB"). */
const zippedLimitMebibytes = 50;
const unzippedLimitMebibytes = 250;
/** A zip uploaded directly (not through S3) may be at most this large. */
export const zippedLimitBytes = zippedLimitMebibytes * mebibyte;
/** A function's unzipped code and all its layers together may be at most this large. */
export const unzippedLimitBytes = unzippedLimitMebibytes * mebibyte;
/** How messages name the limits, e.g. "250 MB". */
export const zippedLimitText = `${zippedLimitMebibytes} MB`;
export const unzippedLimitText = `${unzippedLimitMebibytes} MB`;
/** Lambda starts at most this many extensions per function, all layers together. */
export const maximumExtensions = 10;

/** The block every folder and non-empty file occupies at least once on Linux filesystems (ext4's default). */
const smallestBlockBytes = 4096;

/**
 * The most entries a layer zip may hold: 64,000. Lambda states no entry count, but it unpacks a layer into
 * a filesystem where each folder or non-empty file takes at least one 4 KiB block, so the unzipped limit
 * holds at most 64,000 of them (MiB / 4 KiB). Real layers stay far below (a full SciPy stack is about
 * 15,000 files). Only zips built to cost time and memory (300,000 empty files in 29 MB) reach it.
 */
export const maximumLayerEntries = unzippedLimitBytes / smallestBlockBytes;

/** The one-line reason a zip with `count` entries is refused, or undefined when it is within the limit. */
export function tooManyEntriesProblem(count: number): string | undefined {
  if (count <= maximumLayerEntries) return undefined;
  return `it holds ${count} entries, more than any layer can (${maximumLayerEntries}: Lambda's ${unzippedLimitText} unzipped limit in 4 KiB blocks)`;
}

/**
 * No valid layer zip is larger than this: a zip is at most its contents plus headers, and its contents at
 * most the unzipped limit. The margin leaves room for the headers of a stored (uncompressed) zip that size.
 */
export const maximumZipFileBytes = unzippedLimitBytes + 50 * mebibyte;

/**
 * AWS allows up to 64 concurrent requests per vCPU on Managed Instances; one emulated environment takes
 * the same bound. `ext dev`'s flags need it, and every `ext` command loads those flags.
 */
export const maxManagedInstancesConcurrency = 64;

/**
 * The most bytes of a function's response (and of an error it reports) Lambda takes: its documented 6 MB
 * (6 MiB), plus the 100 bytes of slack both Lambda and AWS's RIE allow (RIE's interop.MaxPayloadSize), so
 * that Lambda's own error names 6291556 bytes. One byte more and the invoke fails with
 * Function.ResponseSizeTooLarge.
 */
export const maxInvokeResponseBytes = 6 * 1024 * 1024 + 100;
