// ext cost's floor for a TypeScript extension: the least a process can do and
// still be one. It registers under its file name, then asks for events,
// discarding each body unparsed, until SHUTDOWN. node:http only, no logging.
// ext cost bundles it exactly as ext build bundles a TypeScript extension (the
// same launcher, node flags and node), and reads every figure of a layer as a
// ratio to this one's.
import http from 'node:http';

const [host, port] = (process.env['AWS_LAMBDA_RUNTIME_API'] ?? '').split(':');
const agent = new http.Agent({ keepAlive: true });

function call(method: string, url: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    const request = http.request(
      { host, port, method, path: `/2020-01-01/extension${url}`, headers, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

// Lambda Managed Instances refuse INVOKE to extensions.
const managedInstances = process.env['AWS_LAMBDA_INITIALIZATION_TYPE'] === 'lambda-managed-instances';
const registered = await call(
  'POST',
  '/register',
  { 'Lambda-Extension-Name': process.env['LAMBDA_EXTENSION_NAME'] ?? 'null-extension' },
  managedInstances ? '{"events":["SHUTDOWN"]}' : '{"events":["INVOKE","SHUTDOWN"]}',
);
const identifier = String(registered.headers['lambda-extension-identifier']);
for (;;) {
  const event = await call('GET', '/event/next', { 'Lambda-Extension-Identifier': identifier });
  if (event.body.includes('"SHUTDOWN"')) break;
}
agent.destroy();
