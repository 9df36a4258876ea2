/** The Telemetry API: subscription requests, each subscriber's buffer and delivery, and the hub that feeds them. */
export { TelemetryHub } from './hub.js';
export { TelemetrySubscriber } from './subscriber.js';
export {
  categoryOf,
  parseTelemetryRequest,
  telemetrySchemaVersions,
  telemetryTypes,
  type Buffering,
  type TelemetryEnvelope,
  type TelemetryRequest,
  type TelemetryType,
} from './subscription-request.js';
