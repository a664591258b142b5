/**
 * Issue 11, item 9: what autocomplete offers is the public API, nothing more. The published
 * declarations (dist/, built by the test setup as `npm run build` does) are read with TypeScript's
 * parser and the members of Subscription, MqttClientBase and ClientOptions compared with the
 * documented lists: no way to end a subscription without unsubscribing (`end`), no `push`,
 * `discard`, `removeFilters`, no writable fields, no `release`/`consumed` on the client, no `timers`
 * option.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));

/** Member names of a class or interface declared in a .d.ts file, with `readonly`/`get`/`private`/`protected` marks. */
function members(file: string, name: string): string[] {
  const text = fs.readFileSync(path.join(DIST, file), 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  let found: ts.ClassDeclaration | ts.InterfaceDeclaration | undefined;
  source.forEachChild((node) => {
    if ((ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node)) && node.name?.text === name) found = node;
  });
  if (!found) throw new Error(`${name} is not declared in dist/${file}`);
  return found.members.map((m) => {
    const mods = ts.canHaveModifiers(m) ? (ts.getModifiers(m) ?? []).map((x) => x.getText(source)) : [];
    const marks = mods.filter((x) => ['readonly', 'private', 'protected', 'static'].includes(x));
    const kind = ts.isGetAccessor(m) ? 'get ' : ts.isSetAccessor(m) ? 'set ' : ts.isConstructorDeclaration(m) ? '' : '';
    const label = ts.isConstructorDeclaration(m) ? 'constructor' : (m.name?.getText(source) ?? '?');
    return [...marks, kind + label].join(' ').trim();
  });
}

describe('the published types (dist/*.d.ts)', () => {
  for (const format of ['esm', 'cjs']) {
    it(`${format}: a Subscription offers only its documented, read-only surface`, () => {
      expect(members(`${format}/subscription.d.ts`, 'Subscription')).toEqual([
        '#private',
        'private constructor',
        'get granted',
        'get filters',
        'get topicFilters',
        'get dropped',
        'get buffered',
        'get highWaterMark',
        'get overflow',
        'get closed',
        'next',
        'return',
        'unsubscribe',
        '[Symbol.asyncIterator]',
        '[Symbol.asyncDispose]',
      ]);
    });

    it(`${format}: the client offers its API and nothing of its parts`, () => {
      expect(members(`${format}/client.d.ts`, 'MqttClientBase')).toEqual([
        '#private',
        'readonly url',
        'protected selectTransport',
        'constructor',
        'get closed',
        'get state',
        'get connected',
        'get clientId',
        'get limits',
        'stats',
        'status',
        'connect',
        'publish',
        'subscribe',
        'unsubscribe',
        'reauthenticate',
        'messages',
        'end',
        'destroy',
        '[Symbol.asyncDispose]',
      ]);
    });

    it(`${format}: ClientOptions has no internal option (timers)`, () => {
      const options = members(`${format}/options.d.ts`, 'ClientOptions');
      expect(options).not.toContain('timers');
      expect(options).toContain('stallTimeout'); // the list is the real one
      expect(members(`${format}/options.d.ts`, 'ReconnectOptions')).toEqual(['retryRefused', 'retryFirstConnect']);
    });
  }
});
