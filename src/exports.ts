/** What every entry point (Node, browser, workerd) exports besides its own MqttClient and connect. */
export type {
  MqttClientBase, CallOptions, PublishOptions, SubscribeOptions, SubscribeInput, EndOptions, ClientStats,
  ConnectResult, ConnectionLimits, PublishResult, PublishOutcome, UnsubscribeOutcome,
} from './client.js';
export type { ClientOptions, Payload, ProtocolVersion, ReconnectOptions, WillOptions } from './options.js';
export type { Mqtt5Options } from './options-v5.js';
export type { Authenticator } from './session/auth-exchange.js';
export type { UserProperties, ConnackProperties, AckProperties, WillProperties } from './codec/packets.js';
export type { StatusEvent } from './status.js';
export { MemoryStore } from './store/store.js';
export type { Store, StoreSnapshot, OutgoingRecord } from './store/store.js';
export type { BackoffOptions } from './session/backoff.js';
export { Message } from './message.js';
export type { MessageProperties } from './message.js';
export type { FilterOptions } from './client/arguments.js';
export { Subscription } from './subscription.js';
export type { OverflowPolicy, SubscriptionOptions } from './subscription.js';
export type { ConnectionState } from './client/states.js';
export type { Logger } from './logger.js';
export type { Transport, TransportFactory, TransportHandlers, TransportOptions, TlsOptions, TlsData } from './transport/transport.js';
export { webSocketTransport } from './transport/websocket.js';
export type { WebSocketConstructor, WebSocketLike, WebSocketTransportSettings } from './transport/websocket.js';
export type { QoS } from './codec/packets.js';
export { topicMatches, isValidTopicName, isValidTopicFilter } from './codec/index.js';
export {
  MqttError,
  MqttProtocolError,
  InvalidArgumentError,
  ConnectionRefusedError,
  TimeoutError,
  SubscribeError,
  ConnectionClosedError,
  ClientClosedError,
  AbortError,
  QueueFullError,
  AbandonedSubscriptionError,
  TransportError,
  AuthenticationError,
  PublishError,
  ServerDisconnectError,
} from './errors.js';
export type { AuthenticationErrorCode, ErrorCode, ProtocolErrorCode, ReasonDetails, SubscribeRefusal, TransportErrorCode } from './errors.js';
