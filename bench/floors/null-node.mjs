// The bench's floor for a Node extension: the least a process can do and
// still be one. It registers for INVOKE and SHUTDOWN under its file name, then
// asks for events, discarding each body unparsed, until SHUTDOWN. Plain JS on
// node:http, no dependencies, no logging: bench only, never a template. Run
// with the same node options as the TypeScript launcher.
import http from 'node:http';
import path from 'node:path';

const [host, port] = (process.env.AWS_LAMBDA_RUNTIME_API ?? '').split(':');
const agent = new http.Agent({ keepAlive: true });

function call(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host, port, method, path: `/2020-01-01/extension${url}`, headers, agent },
      (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve({ headers: response.headers, body: Buffer.concat(chunks) }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const registered = await call(
  'POST',
  '/register',
  { 'Lambda-Extension-Name': path.basename(process.argv[1]) },
  '{"events":["INVOKE","SHUTDOWN"]}',
);
const identifier = registered.headers['lambda-extension-identifier'];
for (;;) {
  const event = await call('GET', '/event/next', { 'Lambda-Extension-Identifier': identifier });
  if (event.body.includes('"SHUTDOWN"')) break;
}
agent.destroy();
