/**
 * Sizes as Lambda's quotas are written: "50 MB" there means 50 × 1024 × 1024
 * bytes, so KB and MB here are binary too, and the figures compare directly.
 */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
