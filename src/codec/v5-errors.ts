/**
 * Errors about MQTT 5 packets cite MQTT 5's normative statements. The checks shared with 3.1.1 (fixed
 * header, UTF-8, topics, packet ids, CONNECT flags) cite 3.1.1's ids, whose numbers differ in MQTT 5 for
 * the same rule (and some numbers name another rule there): `asV5` gives such an error the MQTT 5 id, where
 * the codec hands an error about a level-5 packet to its caller (the decoder at level 5, a level-5 CONNECT,
 * `encode(packet, 5)`). The shared checks thus stay as they are, with no version to pass around.
 */
import { MqttProtocolError, type ErrorReasonCode, type ProtocolErrorCode } from '../errors.js';

/** Errors whose statement is already MQTT 5's: created by `protocolError5`, or translated once. */
const ofV5 = new WeakSet<MqttProtocolError>();

/** An error about an MQTT 5 packet; `statement` is an MQTT 5 id. */
export function protocolError5(
  code: ProtocolErrorCode,
  message: string,
  statement?: string,
  reasonCode?: ErrorReasonCode,
): MqttProtocolError {
  const err = new MqttProtocolError(code, message, statement, reasonCode);
  ofV5.add(err);
  return err;
}

/**
 * 3.1.1 statement id -> the MQTT 5 id of the same rule ('' where MQTT 5 has none), both without "MQTT-". Ids that mean the same rule
 * in both (MQTT-3.3.1-2, -3.3.1-4, -3.3.2-2, -3.1.2-1/2/3, -3.6.1-1, -3.8.1-1, -3.10.1-1, -3.10.3-2,
 * -3.14.1-1, -4.7.3-1/2/3) are not listed.
 */
const V5_STATEMENT: Record<string, string> = {
  '1.5.3-1': '1.5.4-1', // ill-formed UTF-8, surrogates
  '1.5.3-2': '1.5.4-2', // U+0000
  '2.2.2-2': '2.1.3-1', // reserved fixed-header flags
  '2.3.1-1': '2.2.1-3', // non-zero packet identifier
  '2.3.1-6': '2.2.1-5', // PUBACK... carry the PUBLISH's identifier
  '2.3.1-7': '2.2.1-6', // SUBACK/UNSUBACK carry the request's identifier
  '3.1.2-13': '3.1.2-11', // will QoS 0 without the will flag
  '3.1.2-14': '3.1.2-12', // will QoS 0, 1 or 2
  '3.1.2-15': '3.1.2-13', // will retain 0 without the will flag
  '3.1.2-22': '', // password without user name: allowed in MQTT 5
  '3.2.2-4': '3.2.2-6', // Session Present 0 with a refusal
  '3.8.3-3': '3.8.3-2', // SUBSCRIBE with a filter
  '3-8.3-4': '3.8.3-5', // SUBSCRIBE options reserved bits
  '4.7.1-1': '4.7.0-1', // no wildcards in a topic name
  '4.7.1-2': '4.7.1-1', // '#' alone and last
  '4.7.1-3': '4.7.1-2', // '+' a whole level
};

/** The same error citing MQTT 5's statement (itself when it already does). Idempotent. */
export function asV5(err: unknown): unknown {
  if (!(err instanceof MqttProtocolError) || ofV5.has(err)) return err;
  const s = err.statement;
  const mapped = s === undefined ? undefined : V5_STATEMENT[s.slice(5)];
  if (mapped === undefined) {
    ofV5.add(err);
    return err;
  }
  // The message ends in " [<statement>]" (MqttProtocolError's constructor adds it).
  const message = err.message.slice(0, err.message.length - s!.length - 3);
  return protocolError5(err.code, message, mapped === '' ? undefined : `MQTT-${mapped}`, err.reasonCode);
}
