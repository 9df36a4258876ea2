/**
 * AWS allows up to 64 concurrent requests per vCPU on Managed Instances; one
 * emulated environment takes the same bound. In a module of its own because
 * `ext dev`'s flags need it, and every `ext` command loads those flags: the
 * emulator itself (an HTTP server and its process supervision) loads only
 * when `ext dev` runs.
 */
export const maxManagedInstancesConcurrency = 64;
