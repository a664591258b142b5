/**
 * mqttwire/codec: MQTT 5.0 and 3.1.1 (and 3.1 CONNECT) packets to bytes and back, with no I/O and no Node APIs.
 *
 * ```ts
 * import { encode, PacketDecoder } from 'mqttwire/codec';
 * const bytes = encode({ type: 'pingreq' });                 // MQTT 3.1.1 (level 4) by default
 * const ack = encode({ type: 'puback', packetId: 7, reasonCode: 0x10 }, 5);   // MQTT 5
 * const decoder = new PacketDecoder({ maxPacketSize: 1 << 20, protocolLevel: 5 });
 * for (const packet of decoder.push(chunk)) handle(packet);
 * ```
 *
 * Byte ownership:
 * - Decoding: byte fields (`payload`, `will.payload`, `password`) of a packet that arrived inside one chunk
 *   are views into that chunk, not copies: don't reuse or mutate the chunk while you hold such packets
 *   (`slice()` what you keep). Packets assembled from several chunks get a buffer of their own.
 * - Encoding: `encode` returns bytes nobody else writes, but small packets are views into a shared pool
 *   (like Node's Buffer.allocUnsafe): use the view, never its `.buffer`. `encodeInto` writes into yours.
 *
 * @module mqttwire/codec
 */
export * from './packets.js';
export { MqttProtocolError, type ErrorReasonCode, type ProtocolErrorCode } from '../errors.js';
export { encode, encodedLength, encodeInto, publishSize } from './encode.js';
export { PacketDecoder, type PacketDecoderOptions } from './decoder.js';
export { MAX_PACKET_SIZE, MAX_REMAINING_LENGTH } from './fixed-header.js';
export { REASON_CODES, reasonCodeAllowed, reasonCodeName, type ReasonCodeEntry } from './reason-codes.js';
export {
  isValidTopicFilter,
  isValidTopicName,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
} from './topics.js';
