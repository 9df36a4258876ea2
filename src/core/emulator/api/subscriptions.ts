import type http from 'node:http';
import type { Agent } from '../environment/agents.js';
import type { Environment } from '../environment/index.js';
import { telemetrySubscribed } from '../platform-events.js';
import { parseTelemetryRequest } from '../telemetry/index.js';
import { capped, forbidden, readBody, send } from './http.js';

/**
 * `PUT /2022-07-01/telemetry` and `PUT /2020-08-15/logs` (RIE's
 * rapi/handler/runtimelogs.go): subscriptions, accepted while the
 * environment's subscription gate is open (Init).
 */

/** The one schema RIE's LMI subscription schema accepts (…/telemetry/schema/telemetry-subscription-schema.json). */
export const managedInstancesTelemetrySchemaVersion = '2025-01-29';

/**
 * RIE's LMI mode checks a subscription against a JSON schema whose
 * `schemaVersion` enum holds 2025-01-29 only, and answers 400 ValidationError
 * with the validator's words. Ours name the same place and rule; RIE's body
 * quotes the value unescaped (invalid JSON), ours is valid JSON.
 */
function managedInstancesSchemaProblem(body: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined; // parseTelemetryRequest reports malformed JSON
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const schemaVersion = (value as Record<string, unknown>)['schemaVersion'];
  if (schemaVersion === managedInstancesTelemetrySchemaVersion) return undefined;
  const given = typeof schemaVersion === 'string' ? `"${capped(schemaVersion, 64)}"` : String(schemaVersion);
  return schemaVersion === undefined
    ? "schema validation error: jsonschema: '' does not validate with telemetry-subscription-schema.json#/required: missing properties: 'schemaVersion'"
    : `schema validation error: jsonschema: '/schemaVersion' does not validate with telemetry-subscription-schema.json#/properties/schemaVersion/enum: value must be "${managedInstancesTelemetrySchemaVersion}" (got ${given}; Managed Instances accept schemaVersion ${managedInstancesTelemetrySchemaVersion} only)`;
}

export async function subscribeTelemetry(
  environment: Environment,
  agent: Agent,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  const body = await readBody(request, response);
  if (body === undefined) return;
  if (!environment.subscriptionsOpen) {
    forbidden(
      response,
      'Telemetry.SubscriptionClosed',
      'Telemetry API subscriptions are only accepted during the Init phase',
    );
    return;
  }
  const schemaProblem = environment.settings.managedInstances ? managedInstancesSchemaProblem(body) : undefined;
  if (schemaProblem !== undefined) {
    send(response, 400, { errorType: 'ValidationError', errorMessage: schemaProblem });
    return;
  }
  const parsed = parseTelemetryRequest(body, [environment.port]);
  if (!parsed.ok) {
    send(response, 400, { errorType: 'ValidationError', errorMessage: parsed.message });
    return;
  }
  environment.subscribeTelemetry(agent, parsed.request);
  telemetrySubscribed(environment, agent, parsed.request);
  // The Telemetry API answers the JSON string "OK" (as RIE and the Telemetry API reference).
  send(response, 200, '"OK"', { 'Content-Type': 'application/json' });
}

/**
 * On Managed Instances there is no Logs API: 404, as RIE's LMI mode.
 * Otherwise our choice for the Logs API: answer 202, which the docs define as the
 * answer of a local testing environment (RIE answers the same), and
 * deliver nothing. The Telemetry API supersedes it and is fully emulated;
 * a timeline note tells the user so.
 */
export async function subscribeLogs(
  environment: Environment,
  agent: Agent,
  request: http.IncomingMessage,
  response: http.ServerResponse,
): Promise<void> {
  if ((await readBody(request, response)) === undefined) return;
  environment.logsApiCalls += 1;
  const managedInstances = environment.settings.managedInstances;
  environment.note(
    managedInstances
      ? `${agent.name} called the Logs API: answered 404, Managed Instances have no Logs API; use the Telemetry API`
      : `${agent.name} subscribed to the Logs API: answered 202 (local environment), nothing will be delivered; use the Telemetry API`,
    agent.name,
  );
  if (managedInstances) {
    // RIE's LMI server mounts no Logs API route (rapi/server.go), so its router (chi) answers this.
    send(response, 404, '404 page not found\n');
    return;
  }
  send(response, 202, {
    errorType: 'Logs.NotSupported',
    errorMessage:
      'Logs API is not supported by this local environment; subscribe to the Telemetry API (/2022-07-01/telemetry) instead',
  });
}
