/**
 * mqttwire/codec: MQTT 3.1.1 (and 3.1 CONNECT) packets to bytes and back, with no I/O and no Node APIs.
 *
 * ```ts
 * import { encode, PacketDecoder } from 'mqttwire/codec';
 * const bytes = encode({ type: 'pingreq' });
 * const decoder = new PacketDecoder({ maxPacketSize: 1 << 20 });
 * for (const packet of decoder.push(chunk)) handle(packet);
 * ```
 *
 * Byte ownership: byte fields of decoded packets may be views into the chunk given to `push` (see
 * PacketDecoder); `encode` returns a fresh array the caller owns.
 */
export * from './packets.js';
export { MqttProtocolError, type ProtocolErrorCode } from '../errors.js';
export { encode, encodedLength, encodeInto } from './encode.js';
export { PacketDecoder, type PacketDecoderOptions } from './decoder.js';
export { MAX_PACKET_SIZE, MAX_REMAINING_LENGTH } from './fixed-header.js';
export {
  isValidTopicFilter,
  isValidTopicName,
  topicMatches,
  validateTopicFilter,
  validateTopicName,
} from './topics.js';
