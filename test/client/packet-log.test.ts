/** The debug log's packet lines (describePacket): MQTT 5 properties and reason codes, secrets never shown. */
import { describe, expect, it } from 'vitest';
import { describePacket } from '../../src/logger.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('describePacket at MQTT 5', () => {
  it('PUBLISH: properties readably in packet order, binary as its length only', () => {
    const line = describePacket({
      type: 'publish', topic: 'a/b', qos: 1, packetId: 7, retain: false, dup: false, payload: bytes('hello'),
      properties: { contentType: 'text/plain', userProperties: [['k', 'v'], ['k', 'w']], messageExpiryInterval: 60, correlationData: bytes('secret-id'), subscriptionIdentifiers: [3] },
    });
    expect(line).toBe('PUBLISH topic="a/b" qos=1 id=7 payload=5B props={contentType="text/plain", userProperties=[["k","v"],["k","w"]], messageExpiryInterval=60, correlationData=<9 bytes>, subscriptionIdentifiers=[3]}');
    expect(line).not.toContain('secret-id');
  });

  it('acks, DISCONNECT and AUTH: rc=0x.. (name for that packet type) and their properties', () => {
    expect(describePacket({ type: 'puback', packetId: 3, reasonCode: 0x87, properties: { reasonString: 'no' } })).toBe('PUBACK id=3 rc=0x87 (Not authorized) props={reasonString="no"}');
    expect(describePacket({ type: 'pubrec', packetId: 4, reasonCode: 0x10 })).toBe('PUBREC id=4 rc=0x10 (No matching subscribers)');
    expect(describePacket({ type: 'pubcomp', packetId: 4, reasonCode: 0 })).toBe('PUBCOMP id=4 rc=0x00 (Success)');
    expect(describePacket({ type: 'disconnect', reasonCode: 0x8e })).toBe('DISCONNECT rc=0x8e (Session taken over)');
    expect(describePacket({ type: 'disconnect', reasonCode: 0 })).toBe('DISCONNECT rc=0x00 (Normal disconnection)');
    expect(describePacket({ type: 'unsuback', packetId: 2, reasonCodes: [0, 0x11] })).toBe('UNSUBACK id=2 rc=0x00 (Success), rc=0x11 (No subscription existed)');
    expect(describePacket({ type: 'suback', packetId: 1, returnCodes: [1, 0x87] })).toBe('SUBACK id=1 rc=0x01 (Granted QoS 1), rc=0x87 (Not authorized)');
  });

  it('CONNACK with properties or an MQTT 5 code is shown with rc; Authentication Data only by its length', () => {
    expect(describePacket({ type: 'connack', sessionPresent: false, returnCode: 0, properties: { topicAliasMaximum: 10, receiveMaximum: 20 } }))
      .toBe('CONNACK sessionPresent=false rc=0x00 (Success) props={topicAliasMaximum=10, receiveMaximum=20}');
    expect(describePacket({ type: 'connack', sessionPresent: false, returnCode: 0x87 })).toBe('CONNACK sessionPresent=false rc=0x87 (Not authorized)');
    const auth = describePacket({ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: bytes('c=biws,r=nonce,p=proof') } });
    expect(auth).toBe('AUTH rc=0x18 (Continue authentication) props={authenticationMethod="SCRAM-SHA-256", authenticationData=<22 bytes>}');
    expect(auth).not.toContain('proof');
  });

  it('CONNECT: password masked, CONNECT and will properties shown, authentication data by length', () => {
    const line = describePacket({
      type: 'connect', protocolName: 'MQTT', protocolLevel: 5, clientId: 'c1', clean: true, keepalive: 60, username: 'alice', password: bytes('pw-Secret-1'),
      will: { topic: 'w', payload: bytes('gone'), qos: 1, retain: false, properties: { willDelayInterval: 5 } },
      properties: { sessionExpiryInterval: 300, userProperties: [['who', 'cli']], authenticationMethod: 'SCRAM-SHA-256', authenticationData: bytes('n,,n=alice,r=abc') },
    });
    expect(line).toBe('CONNECT clientId="c1" level=5 clean=true keepalive=60 username="alice" password=*** will="w" willQos=1 willRetain=false willProps={willDelayInterval=5} props={sessionExpiryInterval=300, userProperties=[["who","cli"]], authenticationMethod="SCRAM-SHA-256", authenticationData=<16 bytes>}');
    expect(line).not.toMatch(/pw-Secret-1|r=abc/);
  });

  it('SUBSCRIBE shows the subscription options that are set', () => {
    expect(describePacket({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'a/#', qos: 1, noLocal: true, retainAsPublished: true, retainHandling: 2 }, { topicFilter: 'b', qos: 0 }] }))
      .toBe('SUBSCRIBE id=1 "a/#"@1 noLocal retainAsPublished retainHandling=2 "b"@0');
  });
});

describe('describePacket at 3.1.1 (unchanged)', () => {
  it('CONNACK, SUBACK, acks and DISCONNECT without reason codes or properties', () => {
    expect(describePacket({ type: 'connack', sessionPresent: true, returnCode: 0 })).toBe('CONNACK returnCode=0 sessionPresent=true');
    expect(describePacket({ type: 'connack', sessionPresent: false, returnCode: 5 })).toBe('CONNACK returnCode=5 sessionPresent=false');
    expect(describePacket({ type: 'suback', packetId: 1, returnCodes: [1, 0x80] })).toBe('SUBACK id=1 returnCodes=1,0x80');
    expect(describePacket({ type: 'puback', packetId: 3 })).toBe('PUBACK id=3');
    expect(describePacket({ type: 'unsuback', packetId: 3 })).toBe('UNSUBACK id=3');
    expect(describePacket({ type: 'disconnect' })).toBe('DISCONNECT');
    expect(describePacket({ type: 'publish', topic: 'a', qos: 0, retain: true, dup: false, payload: bytes('x') })).toBe('PUBLISH topic="a" qos=0 retain payload=1B');
  });
});
