/**
 * The real Eclipse Mosquitto broker (Debian 12 package `mosquitto`, 2.0.x), one process per call, on
 * 127.0.0.1:<ephemeral> with a generated config in a temp dir. Implementation: mosquitto-process.ts.
 *
 *   describeMosquitto('interop', () => {
 *     let m: MosquittoHandle;
 *     beforeAll(async () => { m = await startMosquitto({ denyTopics: ['secret/#'] }); });
 *     afterAll(() => m?.stop());
 *     ...
 *   });
 *
 * Without the binary, suites declared with describeMosquitto are skipped, and marked so that one line
 * at the end of the run (mosquitto-skip-summary.ts, a reporter) says how many tests that was and how
 * to run them; with MQTTWIRE_REQUIRE_MOSQUITTO=1 (CI) they fail instead, saying why.
 */
import { describe, it } from 'vitest';
import { MISSING_MESSAGE, mosquittoAvailable } from './mosquitto-process.js';

export * from './mosquitto-process.js';

/** MQTTWIRE_REQUIRE_MOSQUITTO=1: a missing broker fails the suite instead of skipping it (CI). */
export const mosquittoRequired: boolean = process.env.MQTTWIRE_REQUIRE_MOSQUITTO === '1';

const REQUIRED_MESSAGE = `MQTTWIRE_REQUIRE_MOSQUITTO=1, but: ${MISSING_MESSAGE}`;

declare module 'vitest' {
  interface TaskMeta {
    /** On a suite describeMosquitto skipped because the binary is missing (read by the skip summary). */
    needsMosquitto?: boolean;
  }
}

/** describe.skip, with the mark the skip summary counts. */
const skipNeedingMosquitto = ((name: string, fn?: () => void) =>
  describe.skip(String(name), { meta: { needsMosquitto: true } }, fn)) as unknown as typeof describe.skip;

/**
 * `describe` when mosquitto is available; `describe.skip` (marked) when it is not; and when it is not but
 * MQTTWIRE_REQUIRE_MOSQUITTO=1, a suite with one failing test saying why (call it directly:
 * `describeMosquitto(name, fn)`; chained forms such as `.each` are not supported in that case).
 */
export const describeMosquitto: typeof describe.skip = mosquittoAvailable
  ? describe
  : mosquittoRequired
    ? (((name: string) =>
        describe(String(name), () => {
          it('needs the mosquitto binary', () => {
            throw new Error(REQUIRED_MESSAGE);
          });
        })) as unknown as typeof describe.skip)
    : skipNeedingMosquitto;

