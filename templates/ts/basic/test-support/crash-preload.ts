/**
 * Loaded with `node --import` before src/index.ts by test/index.test.ts: once
 * the extension asks for its first event, a stray error escapes on its own
 * (a timer's throw, or a rejection nobody handles), as a bug in handler code would.
 */
import http from 'node:http';

const crash = process.env['TEST_CRASH'];
const request = http.request;
let fired = false;
Object.assign(http, {
  request: (...args: Parameters<typeof http.request>) => {
    const options = args[0];
    const path = typeof options === 'object' && options !== null && 'path' in options ? String(options.path) : String(options);
    if (!fired && path.endsWith('/event/next')) {
      fired = true;
      setImmediate(() => {
        if (crash === 'reject') void Promise.reject(new Error('a stray rejection'));
        else throw new Error('a stray throw');
      });
    }
    return request(...args);
  },
});
