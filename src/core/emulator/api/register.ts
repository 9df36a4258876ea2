import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { maximumExtensions } from '../../layer/index.js';
import { changeState, type Agent } from '../environment/agents.js';
import type { Environment } from '../environment/index.js';
import type { ExtensionEventType } from '../types.js';
import { capped, forbidden, maxHeaderValueLength, readBody, send } from './http.js';

/**
 * `POST /2020-01-01/extension/register` (RIE's rapi/handler/agentregister.go):
 * an external extension registers under its file name, any other name
 * registers an internal extension, while the registration gate is open.
 */

export const maxExtensions = maximumExtensions;
/** Refused registrations noted in the timeline, at most. */
export const maxRefusalNotes = 100;
const validEvents: readonly string[] = ['INVOKE', 'SHUTDOWN'];

/** A note on a refused register; a looping extension could make millions, so the first `maxRefusalNotes` only. */
function refusalNote(environment: Environment, text: string, name: string): void {
  environment.refusalNotes += 1;
  if (environment.refusalNotes <= maxRefusalNotes) environment.note(text, name);
  else if (environment.refusalNotes === maxRefusalNotes + 1) {
    environment.note(`more than ${maxRefusalNotes} refused registrations; later ones are not noted`);
  }
}

/** The events asked for, or the answer's words when the body is not a valid registration. */
function parseEvents(body: string): { events: string[] } | { problem: string } {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('the body must be a JSON object');
    const record = parsed as Record<string, unknown>;
    if (Array.isArray(record['configurationKeys']) && record['configurationKeys'].length > 0) {
      throw new Error('configurationKeys are deprecated; use environment variables instead');
    }
    if (record['events'] === undefined || record['events'] === null) return { events: [] };
    if (!Array.isArray(record['events']) || record['events'].some((event) => typeof event !== 'string')) {
      throw new Error('events must be an array of strings');
    }
    return { events: record['events'] as string[] };
  } catch (error) {
    return { problem: error instanceof SyntaxError ? `invalid JSON: ${error.message}` : (error as Error).message };
  }
}

/**
 * RIE's LMI registration rules: an external extension may register
 * SHUTDOWN only (core/externalagent.go ValidateExternalAgentEvent), an
 * internal one no event at all (rapi/handler/agentregister.go). True when
 * it answered the refusal.
 */
function refusedOnManagedInstances(
  environment: Environment,
  name: string,
  external: Agent | undefined,
  events: string[],
  response: http.ServerResponse,
): boolean {
  if (external === undefined) {
    if (events.length === 0) return false;
    refusalNote(
      environment,
      `register refused (403 Extension.InvalidEventType): "${name}" matches no file in extensions/, so Lambda registers it as an internal extension, and on Managed Instances internal extensions cannot register any event`,
      name,
    );
    forbidden(response, 'Extension.InvalidEventType', 'No events allowed for internal extensions');
    return true;
  }
  const refused = events.find((event) => event !== 'SHUTDOWN');
  if (refused === undefined) return false;
  const shown = capped(refused, maxHeaderValueLength);
  refusalNote(
    environment,
    `register refused (403 Extension.InvalidEventType): it asked for event "${shown}"; on Managed Instances an external extension may register SHUTDOWN only (no INVOKE: do per-invoke work on a timer, or read the Telemetry API)`,
    name,
  );
  forbidden(response, 'Extension.InvalidEventType', `${shown}: ErrorInvalidEventType`);
  return true;
}

/** An event no extension (or no internal one) may register. True when it answered the refusal. */
function refusedEvent(
  environment: Environment,
  name: string,
  external: Agent | undefined,
  events: string[],
  response: http.ServerResponse,
): boolean {
  for (const event of events) {
    const invalid = !validEvents.includes(event);
    const internalShutdown = external === undefined && event === 'SHUTDOWN';
    if (!invalid && !internalShutdown) continue;
    const shown = capped(event, maxHeaderValueLength);
    const message = invalid
      ? `${shown}: ErrorInvalidEventType`
      : `${shown}: ShutdownEventNotSupportedForInternalExtension`;
    // A refused request is the extension's to recover from (RIE records no error): a note, not a verdict.
    refusalNote(
      environment,
      invalid
        ? `register refused (403 Extension.InvalidEventType): it asked for event "${shown}"; the only events are INVOKE and SHUTDOWN`
        : `register refused (403 Extension.InvalidEventType): "${name}" matches no file in extensions/, so Lambda registers it as an internal extension, and internal extensions cannot receive SHUTDOWN`,
      name,
    );
    forbidden(response, 'Extension.InvalidEventType', message);
    return true;
  }
  return false;
}

/** The gates: state, registration still open, the extension limit. The agent to register, or undefined once refused. */
function admit(
  environment: Environment,
  name: string,
  external: Agent | undefined,
  response: http.ServerResponse,
): Agent | undefined {
  if (external !== undefined && external.state !== 'Started') {
    forbidden(
      response,
      'Extension.InvalidExtensionState',
      `State transition from ${external.state} to Registered failed for extension ${name}. Error: State transition is not allowed`,
    );
    return undefined;
  }
  if (!environment.registrationOpen) {
    forbidden(response, 'Extension.RegistrationClosed', 'Extension registration closed already');
    return undefined;
  }
  const internalTwice =
    external === undefined &&
    environment.agents.some((candidate) => candidate.kind === 'internal' && candidate.name === name);
  if (internalTwice) {
    forbidden(response, 'Extension.InvalidExtensionState', 'Extension with this name already registered');
    return undefined;
  }
  if (environment.registeredAgents().length >= maxExtensions) {
    const message = `Extension limit (${maxExtensions}) reached`;
    refusalNote(environment, `register refused (403 Extension.TooManyExtensions): ${message}`, name);
    forbidden(response, 'Extension.TooManyExtensions', message);
    return undefined;
  }
  if (external !== undefined) return external;
  const agent = environment.addInternal(name);
  const files = environment.agents
    .filter((candidate) => candidate.kind === 'external')
    .map((candidate) => candidate.name);
  environment.note(
    `"${name}" registered as an internal extension: no file extensions/${name} exists` +
      (files.length > 0 ? ` (files: ${files.join(', ')}); Lambda-Extension-Name must be the file name` : ''),
    name,
  );
  return agent;
}

export async function register(
  environment: Environment,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const body = await readBody(request, response);
  if (body === undefined) return;
  const name = request.headers['lambda-extension-name'];
  if (typeof name !== 'string' || name === '') {
    forbidden(response, 'Extension.InvalidExtensionName', 'Empty extension name');
    return;
  }
  if (name.length > maxHeaderValueLength) {
    // A file name has at most 255 bytes, so no extension file can match a longer name.
    forbidden(
      response,
      'Extension.InvalidExtensionName',
      `Extension name longer than ${maxHeaderValueLength} characters`,
    );
    return;
  }
  const features = String(request.headers['lambda-extension-accept-feature'] ?? '')
    .split(',')
    .map((feature) => feature.trim());
  const parsed = parseEvents(body);
  if ('problem' in parsed) {
    forbidden(response, 'InvalidRequestFormat', parsed.problem);
    return;
  }
  const { events } = parsed;
  const external = environment.agents.find((agent) => agent.kind === 'external' && agent.name === name);
  if (environment.settings.managedInstances && refusedOnManagedInstances(environment, name, external, events, response))
    return;
  if (refusedEvent(environment, name, external, events, response)) return;
  const agent = admit(environment, name, external, response);
  if (agent === undefined) return;
  agent.id = randomUUID();
  changeState(agent, 'Registered');
  agent.events = events as ExtensionEventType[];
  const metadata = environment.functionMetadata();
  send(
    response,
    200,
    {
      functionName: metadata.functionName,
      functionVersion: metadata.functionVersion,
      handler: metadata.handler,
      ...(features.includes('accountId') ? { accountId: metadata.accountId } : {}),
    },
    { 'Lambda-Extension-Identifier': agent.id },
  );
  environment.changed();
}
